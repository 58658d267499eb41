"""From an open archive to the report: the figures, the quiet rule, the charts, the page.
One path for `silkroad report` and the browser's ``/-/report``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from crawler.reporting.charts import Chart, build_charts
from crawler.reporting.filters import DEFAULT_QUIET_DAYS, QuietRule, ReportFilters
from crawler.reporting.page import ReportPage, render_page
from crawler.timeutil import utcnow
from storage.coverage import DEFAULT_TOP_STORIES, Coverage, coverage
from storage.known_values import require_known_filters


@dataclass(frozen=True)
class Report:
    figures: Coverage
    charts: list[Chart]
    html: str

    @property
    def drawn(self) -> int:
        return sum(chart.spec is not None for chart in self.charts)


def make_report(session: Session, filters: ReportFilters, *, archive: str,
                quiet_days: int = DEFAULT_QUIET_DAYS, top: int = DEFAULT_TOP_STORIES,
                form_action: str | None = None) -> Report:
    """The report of the archive ``session`` reads; ``archive`` names it on the page.
    ``form_action``: the page carries a filter form that submits there (the browser's
    view); the file written by `silkroad report` has none."""
    require_known_filters(session, filters.article_filter())
    figures = coverage(session, filters.article_filter(), top_stories=top)
    quiet = QuietRule.for_archive(quiet_days, figures.archive_last_day, filters.until)
    charts = build_charts(figures, quiet)
    page = ReportPage(figures, charts, filters, quiet, archive, utcnow(), form_action)
    return Report(figures, charts, render_page(page))
