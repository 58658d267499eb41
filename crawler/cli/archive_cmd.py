"""`silkroad import-warc` and `silkroad reprocess`: fill or refresh the archive offline."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from sqlalchemy.orm import Session

from crawler.cli.common import console, db_option, err_console, open_archive
from crawler.errors import UsageError
from crawler.offline.reprocess import reprocess as reprocess_archive
from crawler.offline.warc_import import IGNORED, check_readable, import_warcs
from storage.engine import session_factory
from storage.known_values import require_known_source
from storage.records import DATE_FORMS, parse_day


def _progress(total: int | None = None) -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    MofNCompleteColumn(), console=console, transient=True,
                    disable=not console.is_terminal)


@click.command("import-warc")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--source", metavar="NAME",
              help="Source name to file the pages under (default: each page's host).")
@db_option
def import_warc(files: tuple[Path, ...], source: str | None, db: str | None) -> None:
    """Ingest WARC files made by other crawlers (wget --warc-file, Heritrix, Browsertrix).

    Every HTML page goes through the same extract, topic filter and dedup
    steps as a crawled page; the raw responses are kept as snapshots, with
    robots.txt and redirects. Revisit records are followed to the payload they
    repeat, resource records imported like responses; what holds nothing to
    archive (requests, images, 404s) is counted by reason. A record that is
    malformed or over the size cap is skipped and named on stderr, a file cut
    short is read up to the record named on stderr; the others are imported,
    and the exit status is 1.

    \b
    Example:
      silkroad import-warc crawl-2025-06.warc.gz other.warc --source "Astana Times"
    """
    missing = [str(path) for path in files if not path.is_file()]
    if missing:
        raise UsageError(f"WARC file not found: {', '.join(missing)}")
    for path in files:
        check_readable(path)
    engine = open_archive(db)
    with _progress() as progress:
        task = progress.add_task("importing", total=None)
        counts = import_warcs(session_factory(engine), list(files), source=source,
                              on_record=lambda: progress.advance(task),
                              on_problem=lambda problem: err_console.print(
                                  str(problem), markup=False, soft_wrap=True))
    engine.dispose()
    console.print(
        f"Imported {counts['imported']} capture(s): {counts['archived']} new article(s), "
        f"{counts['duplicates']} duplicate(s), {counts['revisits']} revisit(s), "
        f"{counts['off_topic']} off-topic, {counts['no_article']} without article, "
        f"{counts['robots']} robots.txt, {counts['redirect']} redirect(s)."
    )
    ignored = sorted(((n, key[len(IGNORED):]) for key, n in counts.items()
                      if key.startswith(IGNORED)), key=lambda pair: (-pair[0], pair[1]))
    if ignored:
        console.print("Not imported, nothing to archive: "
                      + ", ".join(f"{n} {reason}" for n, reason in ignored) + ".",
                      markup=False, soft_wrap=True)
    failed = counts["skipped"] + counts["stopped"]
    if failed:
        err_console.print(
            f"{counts['imported']} record(s) imported, {counts['skipped']} skipped"
            + (f", {counts['stopped']} file(s) unreadable past the offset named above."
               if counts["stopped"] else "."), markup=False, soft_wrap=True)
        sys.exit(1)


@click.command("reprocess")
@click.option("--since", metavar="DATE",
              help=f"Only snapshots fetched on/after DATE: {DATE_FORMS}.")
@click.option("--source", metavar="NAME", help="Only pages of this source.")
@db_option
def reprocess(since: str | None, source: str | None, db: str | None) -> None:
    """Re-extract and re-score stored snapshots offline (no network).

    Run it after upgrading trafilatura or editing the topic vocabulary: articles
    are updated in place and the search index follows. Nothing is deleted: an
    article that no longer passes the topic filter is reported.

    \b
    Example:
      silkroad reprocess --since 2025-06-01 --source "Gazeta.uz"
    """
    day = parse_day(since, option="--since")
    engine = open_archive(db)
    with Session(engine) as session:
        require_known_source(session, source)
    with _progress() as progress:
        task = progress.add_task("reprocessing", total=None)
        counts = reprocess_archive(session_factory(engine), since=day, source=source,
                                   on_page=lambda: progress.advance(task))
    engine.dispose()
    console.print(
        f"Reprocessed {counts['pages']} page(s): {counts['unchanged']} unchanged, "
        f"{counts['updated']} updated, {counts['re_extracted']} re-extracted, "
        f"{counts['newly_archived']} newly archived, {counts['now_off_topic']} now off-topic."
    )
