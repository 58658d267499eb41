"""`silkroad search`, `show` and `stats`: questioning the archive from the terminal."""

from __future__ import annotations

import csv
import json
import sys
from typing import Any

import click
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from crawler.cli.common import console, db_option, err_console, open_archive
from crawler.cli.export_cmd import csv_cell, filter_options, make_filter
from storage.known_values import require_known_filters
from storage.records import RECORD_FIELDS
from storage.search.query import parse_query
from storage.search.ranked import DEFAULT_LIMIT, SearchHit, count_matches, search_articles
from storage.search.snippets import Snippet
from storage.show import ArticleDetail, article_detail
from storage.stats import ArchiveStats, archive_stats

HIT_STYLE = "bold yellow"
SQLITE_MAX_INT = 2**63 - 1  # larger ids cannot be bound to a query: OverflowError


def _format_option(choices: list[str]) -> Any:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help="Output format.")


def _dump_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def _rich(snippet: Snippet, style: str = "") -> Text:
    text = Text(style=style)
    for piece, hit in snippet.segments:
        text.append(piece, style=HIT_STYLE if hit else None)
    return text


def _hits_table(hits: list[SearchHit], total: int) -> None:
    table = Table(show_lines=True, title=f"{total} match(es), best {len(hits)} shown",
                  title_justify="left")
    for name in ("id", "score", "lang", "date", "article"):
        table.add_column(name, overflow="fold", no_wrap=name != "article")
    for hit in hits:
        record = hit.record
        article = _rich(hit.title, "bold")
        about = " · ".join(filter(None, (hit.site, ",".join(record["countries"]))))
        if about:
            article.append(f"  {about}", style="dim")
        article.append("\n")
        article.append_text(_rich(hit.snippet))
        table.add_row(str(record["id"]), f"{hit.score:.2f}", record["language"] or "",
                      (record["published"] or record["first_seen"] or "")[:10], article)
    console.print(table)


@click.command("search")
@click.argument("query")
@filter_options
@click.option("--limit", type=click.IntRange(min=1, max=10_000), default=DEFAULT_LIMIT,
              show_default=True, help="At most this many results, best first.")
@click.option("--collapse", is_flag=True,
              help="One hit per cluster of near-duplicates (reposts with small edits).")
@_format_option(["table", "json", "csv"])
@db_option
def search(query: str, lang: str | None, country: str | None, theme: str | None,
           source: str | None, since: str | None, until: str | None, limit: int,
           collapse: bool, fmt: str, db: str | None) -> None:
    """Ranked full-text search over titles and texts (Chinese, Russian, English).

    \b
    Query syntax:
      words            all must occur: gas pipeline
      "a phrase"       the words side by side: "gas pipeline"
      OR, NOT, ( )     either / but not / grouping: (railway OR 铁路) NOT Russia
      AND, AND NOT     the same as a space / NOT: China AND NOT Kazakhstan
      prefix*          any word starting so: pipe*
    Chinese matches any substring of two or more characters (中亚, 中吉乌铁路), in
    Simplified or Traditional characters alike (中亞 finds 中亚); case and word forms
    (railway/railways, газопровод/газопровода) do not matter. JSON and CSV
    records carry the export fields plus score and snippet (matches in **bold**).

    \b
    Example:
      silkroad search 中亚 --format json
      silkroad search pipeline --country TM --since 2025-06
      silkroad search '"gas pipeline" OR газопровод' --limit 5 --collapse
    """
    parsed = parse_query(query)
    filters = make_filter(lang, country, theme, source, since, until)
    engine = open_archive(db, readonly=True)
    with Session(engine) as session:
        require_known_filters(session, filters)
        hits = search_articles(session, parsed, filters, limit=limit, collapse=collapse)
        total = count_matches(session, parsed, filters) if fmt == "table" else len(hits)
    engine.dispose()
    if fmt == "json":
        _dump_json([hit.as_record() for hit in hits])
    elif fmt == "csv":
        writer = csv.writer(sys.stdout)
        fields = (*RECORD_FIELDS, "score", "snippet")
        writer.writerow(fields)
        for hit in hits:
            record = hit.as_record()
            writer.writerow([csv_cell(record[name]) for name in fields])
    elif hits:
        _hits_table(hits, total)
    else:
        err_console.print("No matches.")


def _related_lines(title: str, related: tuple[Any, ...], current: int | None = None) -> None:
    if not related:
        return
    console.print(Text(title, style="bold"))
    for item in related:
        line = Text(f"  #{item.id}  {item.first_seen or ''}  {item.title or '(untitled)'}")
        if item.similarity is not None:
            line.append(f"  similarity {item.similarity:.2f}", style="dim")
        if item.id == current:
            line.append("  ◀ this one", style="bold")
        console.print(line)


def _site(detail: ArticleDetail) -> str | None:
    """The site's own name where it adds to the source's; the host of a sourceless one."""
    source, declared = detail.record["source"], detail.metadata["site_name"]
    if source is None:
        return str(detail.metadata["site"])
    return declared if declared != source else None


def _detail_table(detail: ArticleDetail) -> None:
    record = detail.record
    console.print(Text(record["title"] or "(untitled)", style="bold"))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column(overflow="fold")
    rows = {
        "id": record["id"], "url": record["url"], "source": record["source"],
        "site": _site(detail), "author": record["author"],
        "published": record["published"], "language": record["language"],
        "countries": ", ".join(record["countries"]), "themes": ", ".join(record["themes"]),
        "relevance": record["relevance"], "first seen": record["first_seen"],
        "last seen": record["last_seen"], "duplicate of": record["duplicate_of"],
        "content hash": record["content_hash"], "extractor": detail.metadata["extractor"],
    }
    for name, value in rows.items():
        if value not in (None, ""):
            facts.add_row(name, Text(str(value)))
    console.print(facts)
    console.print()
    console.print(Text(record["text"]))
    console.print()
    console.print(Text(f"Seen at {len(detail.sightings)} URL(s):", style="bold"))
    for sighting in detail.sightings:
        runs = " to ".join(str(r) for r in dict.fromkeys(
            (sighting.first_run_id, sighting.last_run_id)) if r is not None)
        console.print(Text(f"  {sighting.url}"))
        console.print(Text(
            f"    first {sighting.first_seen} · last {sighting.last_seen} · "
            f"{sighting.times_seen} time(s) · run {runs or '-'}", style="dim"))
        for snap in sighting.snapshots:
            line = Text(f"    snapshot #{snap.id}  {snap.fetched_at}  HTTP {snap.status}  "
                        f"{snap.size:,} B  run {snap.run_id or '-'}")
            if snap.recorded:
                line.append("  ◀ recorded from", style="bold")
            console.print(line)
    _related_lines("Versions of this page (oldest first):", detail.versions, record["id"])
    _related_lines("Near-duplicates (same story, small edits):", detail.near_duplicates)
    if detail.discovery:
        console.print(Text("Found via:", style="bold"))
        console.print(Text("  " + "\n  → ".join(detail.discovery)))
    console.print(Text(f"Extracted by {detail.metadata['extractor'] or '?'}; topic profile "
                       f"{detail.metadata['topic_version'] or '?'}.", style="dim"))


@click.command("show")
@click.argument("article_id", metavar="ID", type=click.IntRange(1, SQLITE_MAX_INT))
@_format_option(["table", "json"])
@db_option
def show(article_id: int, fmt: str, db: str | None) -> None:
    """One article: its text, metadata, every sighting and the snapshots behind them.

    \b
    Example:
      silkroad show 42
      silkroad show 42 --format json
    """
    engine = open_archive(db, readonly=True)
    with Session(engine) as session:
        detail = article_detail(session, article_id)
    engine.dispose()
    if fmt == "json":
        _dump_json(detail.as_dict())
    else:
        _detail_table(detail)


def _stats_tables(stats: ArchiveStats) -> None:
    totals = Table(title="Archive", title_justify="left", show_header=False)
    totals.add_column()
    totals.add_column(justify="right")
    for name, value in stats.totals.items():
        totals.add_row(name.replace("_", " "), f"{value:,}")
    if stats.file_bytes is not None:
        totals.add_row("file size", f"{stats.file_bytes / 1e6:,.1f} MB")
    elif stats.database_bytes is not None:
        totals.add_row("database size", f"{stats.database_bytes / 1e6:,.1f} MB")
    console.print(totals)
    for title, counts in (("By source", stats.by_source), ("By language", stats.by_language),
                          ("By country", stats.by_country), ("By theme", stats.by_theme),
                          ("By month", stats.by_month)):
        table = Table(title=title, title_justify="left")
        table.add_column(title.split()[-1])
        table.add_column("articles", justify="right")
        for key, count in counts:
            table.add_row(key, f"{count:,}")
        console.print(table)


@click.command("stats")
@_format_option(["table", "json"])
@db_option
def stats(fmt: str, db: str | None) -> None:
    """Counts by source, language, country, theme and month, with archive totals and size.

    \b
    Example:
      silkroad stats
      silkroad stats --format json --db sqlite:///demo.sqlite
    """
    engine = open_archive(db, readonly=True)
    with Session(engine) as session:
        result = archive_stats(session)
    engine.dispose()
    if fmt == "json":
        _dump_json(result.as_dict())
    else:
        _stats_tables(result)
