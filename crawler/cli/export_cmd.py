"""`silkroad export`: stream the archive out as JSON Lines or CSV."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy.orm import Session

from crawler.cli.common import console, db_option, err_console, open_archive
from crawler.errors import UsageError
from storage.records import RECORD_FIELDS, ArticleFilter, iter_records, parse_day
from storage.warc_export import write_warc

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--lang", metavar="L", help="Language code, e.g. en, zh, ru."),
            click.option("--country", metavar="CC", help="ISO 3166 alpha-2 code, e.g. KZ."),
            click.option("--theme", metavar="T", help="Theme, e.g. energy, transport, trade."),
            click.option("--source", metavar="NAME", help="Source name as in the seeds file."),
            click.option("--since", metavar="DATE", help="Published (or first seen) on/after YYYY-MM-DD."),
            click.option("--until", metavar="DATE", help="Published (or first seen) on/before YYYY-MM-DD."),
        ]
    ):
        func = option(func)
    return func


def make_filter(lang: str | None, country: str | None, theme: str | None, source: str | None,
                since: str | None, until: str | None) -> ArticleFilter:
    return ArticleFilter(language=lang, country=country, theme=theme, source=source,
                         since=parse_day(since), until=parse_day(until))


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection): prefix a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return csv_safe(value)


@contextmanager
def output_stream(path: str | None) -> Iterator[IO[str]]:
    """stdout, or a file written beside its final name and renamed when complete."""
    if path in (None, "-"):
        yield sys.stdout
        return
    target = Path(path)
    if not target.parent.is_dir():
        raise UsageError(f"folder {target.parent} does not exist")
    partial = target.with_name(target.name + ".part")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        yield handle
    partial.replace(target)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv", "warc"]), default="jsonl",
              show_default=True,
              help="jsonl/csv: one record per article; warc: every stored response and "
                   "revisit as WARC 1.1 (needs --output, filters do not apply).")
@click.option("--output", "-o", metavar="PATH", help="Write here instead of stdout.")
@filter_options
@db_option
def export(fmt: str, output: str | None, lang: str | None, country: str | None,
           theme: str | None, source: str | None, since: str | None, until: str | None,
           db: str | None) -> None:
    """Export articles (all, or those matching the filters), streamed in constant memory.

    Each record carries id, url, urls, title, author, published, language, source,
    text, content_hash, relevance, countries, themes, first_seen, last_seen, duplicate_of.

    \b
    Example:
      silkroad export --format jsonl --output archive.jsonl
      silkroad export --format csv --country KZ --since 2025-01-01 > kz.csv
      silkroad export --format warc --output archive.warc.gz
    """
    if fmt == "warc":
        export_warc(db, output)
        return
    filters = make_filter(lang, country, theme, source, since, until)
    engine = open_archive(db, readonly=True)
    count = 0
    with Session(engine) as session, output_stream(output) as stream:
        if fmt == "jsonl":
            for record in iter_records(session, filters):
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
        else:
            writer = csv.writer(stream)
            writer.writerow(RECORD_FIELDS)
            for record in iter_records(session, filters):
                writer.writerow([csv_cell(record[name]) for name in RECORD_FIELDS])
                count += 1
    engine.dispose()
    if output not in (None, "-"):
        console.print(f"Exported {count} article(s) to {output}.")
    else:
        err_console.print(f"Exported {count} article(s).", style="dim")


def export_warc(db: str | None, output: str | None) -> None:
    if output in (None, "-"):
        raise UsageError("--format warc writes a binary file: give --output FILE.warc.gz")
    target = Path(output)  # type: ignore[arg-type]
    if not target.parent.is_dir():
        raise UsageError(f"folder {target.parent} does not exist")
    engine = open_archive(db, readonly=True)
    partial = target.with_name(target.name + ".part")
    with Session(engine) as session, partial.open("wb") as stream:
        counts = write_warc(session, stream, filename=target.name)
    partial.replace(target)
    engine.dispose()
    console.print(f"Wrote {target}: {counts['response']} response and "
                  f"{counts['revisit']} revisit record(s).")


def register(cli: click.Group) -> None:
    cli.add_command(export)
