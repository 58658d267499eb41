"""The report's charts: the archive's figures as Vega-Lite specs, built with altair.

Each chart is a plain spec (a dict) with its data inlined, so the same spec is drawn
by Vega in the browser and by vl-convert into PNG and SVG. Months are an ordinal
axis filled with zeros, one band per ``YYYY-MM``: no time zone can move a month.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import altair as alt

from crawler.reporting.filters import QuietRule
from storage.coverage import Coverage, MonthCount, SourceActivity

WIDTH = 720
TOP_COUNTRIES = 10
TOP_LANGUAGES = 8
OTHER = "other"
MONTH_LABELS = 30  # at most this many month labels (and points on the lines)
TITLE_CHARS = 60
ACTIVE, QUIET = "active", "quiet"
COUNT_AXIS = alt.Axis(format="d", tickMinStep=1)
STATUS_SCALE = alt.Scale(domain=[ACTIVE, QUIET], range=["#4c78a8", "#e45756"])
# The spec's Vega-Lite version, for the JavaScript and vl-convert to match it.
VEGALITE_VERSION = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])


CHART_NAMES = ("articles-by-country", "articles-by-theme", "articles-by-language",
               "sources-by-volume", "sources-by-last-article", "most-reposted-stories")


@dataclass(frozen=True)
class Chart:
    name: str  # file stem of its PNG/SVG, and its element id on the page
    title: str
    note: str  # what it counts, under the chart
    spec: dict[str, Any] | None  # None: nothing to draw
    empty: str = "No articles match the filters."


def build_charts(coverage: Coverage, quiet: QuietRule) -> list[Chart]:
    return [
        _per_month("articles-by-country", "Articles per month by country", coverage.by_country,
                   "country", top=TOP_COUNTRIES,
                   note=f"The countries named most (at most {TOP_COUNTRIES}). An article about "
                        "several countries counts once for each, so the lines do not add up."),
        _per_month("articles-by-theme", "Articles per month by theme", coverage.by_theme,
                   "theme", note="An article on several themes counts once for each; one "
                                 "on none is in no line."),
        _per_month("articles-by-language", "Articles per month by language",
                   coverage.by_language, "language", top=TOP_LANGUAGES, stacked=True,
                   note="Each article in its one language; the bars add up to all articles."),
        _sources_by_volume(coverage.sources, quiet),
        _sources_by_last_article(coverage.sources, quiet),
        _reposted(coverage),
    ]


def month_range(first: str, last: str) -> list[str]:
    """Every YYYY-MM from first to last, both included."""
    year, month = int(first[:4]), int(first[5:7])
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _top_keys(counts: tuple[MonthCount, ...], top: int | None) -> list[str]:
    totals: Counter[str] = Counter()
    for count in counts:
        totals[count.key] += count.articles
    ranked = sorted(totals, key=lambda key: (-totals[key], key))
    return ranked if top is None else ranked[:top]


def _per_month(name: str, title: str, counts: tuple[MonthCount, ...], field: str, *,
               note: str, top: int | None = None, stacked: bool = False) -> Chart:
    if not counts:
        return Chart(name, title, note, None)
    shown = _top_keys(counts, top)
    folded = stacked and len(shown) < len(_top_keys(counts, None))
    months = month_range(min(c.month for c in counts), max(c.month for c in counts))
    cells: Counter[tuple[str, str]] = Counter()
    for count in counts:
        if count.key in shown:
            cells[(count.month, count.key)] += count.articles
        elif folded:
            cells[(count.month, OTHER)] += count.articles
    keys = shown + ([OTHER] if folded else [])
    rows = [{"month": month, field: key, "articles": cells[(month, key)]}
            for month in months for key in keys]
    base = alt.Chart(alt.Data(values=rows)).encode(
        x=alt.X("month:O", sort=months, title="month",
                axis=alt.Axis(labelAngle=-45, values=months[::-(-len(months) // MONTH_LABELS)])),
        y=alt.Y("articles:Q", title="articles", stack="zero" if stacked else None,
                axis=COUNT_AXIS),
        color=alt.Color(f"{field}:N", sort=keys, title=field),
        tooltip=["month:O", f"{field}:N", "articles:Q"],
    )
    chart = (base.mark_bar() if stacked
             else base.mark_line(point=len(months) <= MONTH_LABELS, strokeWidth=2))
    return Chart(name, title, note, _spec(chart.properties(title=title, height=320)))


def _status(quiet: QuietRule, source: SourceActivity) -> str:
    return QUIET if quiet.is_quiet(source.last_article) else ACTIVE


def _sources_by_volume(sources: tuple[SourceActivity, ...], quiet: QuietRule) -> Chart:
    title = "Sources by volume"
    note = f"Articles from each source, most first. {quiet.describe()}"
    if not any(s.articles for s in sources):
        return Chart("sources-by-volume", title, note, None)
    rows = [{"source": s.name, "articles": s.articles, "status": _status(quiet, s),
             "last article": s.last_article or "none"} for s in sources]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("source:N", sort=[s.name for s in sources], title=None),
        x=alt.X("articles:Q", title="articles", axis=COUNT_AXIS),
        color=alt.Color("status:N", scale=STATUS_SCALE, title="source"),
        tooltip=["source:N", "articles:Q", "last article:N", "status:N"],
    ).properties(title=title, height=alt.Step(18))
    return Chart("sources-by-volume", title, note, _spec(chart))


def _sources_by_last_article(sources: tuple[SourceActivity, ...], quiet: QuietRule) -> Chart:
    title = "Sources by their last article"
    dated = sorted((s for s in sources if s.last_article),
                   key=lambda s: (s.last_article or "", s.name), reverse=True)
    never = sorted(s.name for s in sources if not s.last_article)
    note = "The day of each source's newest article, newest first. " + quiet.describe()
    if never:
        note += f" Without any article: {', '.join(never)}."
    if not dated:
        return Chart("sources-by-last-article", title, note, None)
    rows = [{"source": s.name, "last article": s.last_article, "articles": s.articles,
             "status": _status(quiet, s)} for s in dated]
    time_axis = alt.X("last article:T", title="newest article", scale=alt.Scale(type="utc"),
                      axis=alt.Axis(format="%Y-%m-%d", labelAngle=-45))
    points = alt.Chart(alt.Data(values=rows)).mark_point(filled=True, size=90).encode(
        y=alt.Y("source:N", sort=[s.name for s in dated], title=None),
        x=time_axis,
        color=alt.Color("status:N", scale=STATUS_SCALE, title="source"),
        tooltip=["source:N", "last article:N", "articles:Q", "status:N"],
    )
    layers: list[Any] = [points]
    if quiet.cutoff is not None:
        rule = alt.Chart(alt.Data(values=[{"cutoff": quiet.cutoff.isoformat(),
                                           "label": f"quiet before {quiet.cutoff}"}]))
        layers.append(rule.mark_rule(color="#e45756", strokeDash=[4, 4]).encode(
            x=alt.X("cutoff:T", scale=alt.Scale(type="utc"))))
        layers.append(rule.mark_text(align="left", dx=4, dy=-6, color="#e45756").encode(
            x=alt.X("cutoff:T", scale=alt.Scale(type="utc")), text="label:N",
            y=alt.value(0)))
    chart = alt.layer(*layers).properties(title=title, height=alt.Step(18))
    return Chart("sources-by-last-article", title, note, _spec(chart))


def shorten(title: str | None, limit: int = TITLE_CHARS) -> str:
    """A title whole when it fits, else cut at a word where possible, with an ellipsis."""
    text = " ".join((title or "(untitled)").split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:—-") + "…"


def _reposted(coverage: Coverage) -> Chart:
    name, title = "most-reposted-stories", "Most reposted stories"
    note = ("Stories seen at the most URLs: an article with its near-duplicates (the same "
            "story with small edits), every URL each text was found at.")
    if not coverage.reposted:
        return Chart(name, title, note, None,
                     empty="No story of the selection was seen at more than one URL.")
    rows = [{"story": f"#{s.article_id} {shorten(s.title)}", "title": s.title or "",
             "URLs": s.sightings, "versions": s.versions, "sites": s.sites,
             "day": s.day, "source": s.source or ""} for s in coverage.reposted]
    chart = alt.Chart(alt.Data(values=rows)).mark_bar().encode(
        y=alt.Y("story:N", sort=[str(row["story"]) for row in rows], title=None,
                axis=alt.Axis(labelLimit=320)),
        x=alt.X("URLs:Q", title="URLs seen at", axis=COUNT_AXIS),
        color=alt.Color("sites:Q", title="sites", scale=alt.Scale(scheme="blues")),
        tooltip=["title:N", "day:N", "source:N", "URLs:Q", "versions:Q", "sites:Q"],
    ).properties(title=title, height=alt.Step(22))
    return Chart(name, title, note, _spec(chart, width=WIDTH - 320))


def _spec(chart: alt.TopLevelMixin, width: int = WIDTH) -> dict[str, Any]:
    spec = chart.properties(width=width).to_dict(validate=True)
    spec.setdefault("config", {})["font"] = "Noto Sans CJK SC, Noto Sans, sans-serif"
    return spec
