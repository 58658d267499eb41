"""The report as one HTML page that opens offline: Vega, Vega-Lite and vega-embed are
inlined (vl-convert's bundle), the chart specs carry their data, nothing is fetched."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from crawler import __version__
from crawler.reporting.charts import VEGALITE_VERSION, Chart
from crawler.reporting.filters import QuietRule, ReportFilters
from storage.coverage import Coverage

TEMPLATE = "report.html.j2"
BUNDLE_SNIPPET = "window.vegaEmbed = vegaEmbed; window.vega = vega; window.vegaLite = vegaLite;"


@dataclass(frozen=True)
class ReportPage:
    coverage: Coverage
    charts: list[Chart]
    filters: ReportFilters
    quiet: QuietRule
    archive: str  # how the archive is named on the page (no password)
    generated: datetime  # UTC
    form_action: str | None = None  # where a filter form submits; None: no form


@cache
def javascript_bundle() -> str:
    """Vega, Vega-Lite and vega-embed in one script (about 900 kB), made by vl-convert
    without the network; no ``</script`` inside, so it can sit in a script element."""
    import vl_convert

    bundle = vl_convert.javascript_bundle(BUNDLE_SNIPPET, vl_version=VEGALITE_VERSION)
    return bundle.replace("</script", "<\\/script")


@cache
def _environment() -> Environment:
    return Environment(loader=FileSystemLoader(Path(__file__).parent),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       trim_blocks=True, lstrip_blocks=True)


def figures(coverage: Coverage, quiet: QuietRule, filtered: bool) -> list[tuple[str, str]]:
    """The headline figures: (value, label) pairs."""
    with_articles = [s for s in coverage.sources if s.articles]
    quiet_sources = [s for s in coverage.sources if quiet.is_quiet(s.last_article)]
    languages = {c.key for c in coverage.by_language}
    countries = {c.key for c in coverage.by_country}
    period = (f"{coverage.first_day} – {coverage.last_day}" if coverage.first_day
              else "–")
    articles = f"{coverage.articles:,}"
    return [
        (articles, f"articles (of {coverage.archive_articles:,})" if filtered else "articles"),
        (period, "dated"),
        (f"{len(with_articles):,} of {len(coverage.sources):,}", "sources with articles"),
        (f"{len(quiet_sources):,}", f"quiet sources ({quiet.days}+ days)"),
        (f"{len(languages):,}", "languages"),
        (f"{len(countries):,}", "countries named"),
        (f"{coverage.sightings:,}", "URLs they were seen at"),
        (f"{coverage.near_duplicates:,}", "near-duplicates (reposts with edits)"),
    ]


def _script_json(value: Any) -> Markup:
    """JSON that cannot end its script element early."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace("\u2028", "\\u2028")
                  .replace("\u2029", "\\u2029"))


def render_page(page: ReportPage) -> str:
    specs = {chart.name: chart.spec for chart in page.charts if chart.spec is not None}
    return _environment().get_template(TEMPLATE).render(
        coverage=page.coverage,
        charts=page.charts,
        figures=figures(page.coverage, page.quiet, page.filters.active),
        selection=page.filters.describe(),
        archive=page.archive,
        form_action=page.form_action,
        filters=page.filters,
        generated=page.generated.strftime("%Y-%m-%d %H:%M UTC"),
        version=__version__,
        vegalite_version=VEGALITE_VERSION,
        specs_json=_script_json(specs),
        javascript=Markup(javascript_bundle()),
    )
