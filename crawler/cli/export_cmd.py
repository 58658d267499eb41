"""`silkroad export`: stream the archive out as JSON Lines or CSV."""

from __future__ import annotations

import csv
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.cli.common import console, db_option, err_console, open_archive
from crawler.errors import UsageError
from storage.models import Source
from storage.records import RECORD_FIELDS, ArticleFilter, iter_records, parse_day
from storage.warc_export import write_warc

# Spreadsheets read a cell starting with these as a formula; the fullwidth forms too,
# in some locales (and this archive holds Chinese text).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")


def filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--lang", metavar="L", help="Language code, e.g. en, zh, ru."),
            click.option("--country", metavar="CC", help="ISO 3166 alpha-2 code, e.g. KZ."),
            click.option("--theme", metavar="T", help="Theme, e.g. energy, transport, trade."),
            click.option("--source", metavar="NAME", help="Source name as in the seeds file."),
            click.option("--since", metavar="DATE",
                         help="Published (or first seen) on/after YYYY-MM-DD."),
            click.option("--until", metavar="DATE",
                         help="Published (or first seen) on/before YYYY-MM-DD."),
        ]
    ):
        func = option(func)
    return func


def make_filter(lang: str | None, country: str | None, theme: str | None, source: str | None,
                since: str | None, until: str | None) -> ArticleFilter:
    """The filters as given, refused (one line, exit 2) when they cannot match anything
    by construction: a malformed code or date, or a period that ends before it starts."""
    if country is not None and not _COUNTRY_CODE.fullmatch(country):
        raise UsageError(f"--country wants an ISO 3166 alpha-2 code such as KZ, got {country!r}")
    if lang is not None and not _LANGUAGE_CODE.fullmatch(lang):
        raise UsageError(f"--lang wants a language code such as en, zh or ru, got {lang!r}")
    first, last = parse_day(since), parse_day(until)
    if first and last and first > last:
        raise UsageError(f"--since {since} is after --until {until}")
    return ArticleFilter(language=lang, country=country, theme=theme, source=source,
                         since=first, until=last)


def require_known_source(session: Session, name: str | None) -> None:
    """An unknown ``--source`` is a mistake (a typo, another seeds file), not an empty result."""
    if name is None:
        return
    names = list(session.scalars(select(Source.name).order_by(Source.name)))
    if name not in names:
        known = ", ".join(repr(n) for n in names[:10]) + (" ..." if len(names) > 10 else "")
        raise UsageError(f"no source named {name!r} in the archive"
                         + (f" (sources: {known})" if names else " (it has none yet)"))


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection): prefix a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return csv_safe(value)


def output_target(path: str | None) -> Path | None:
    """Where to write (None: stdout), checked before anything is opened."""
    if path in (None, "-"):
        return None
    target = Path(path)  # type: ignore[arg-type]
    if not target.parent.is_dir():
        raise UsageError(f"folder {target.parent} does not exist")
    if target.is_dir():
        raise UsageError(f"{target} is a folder: give a file name")
    return target


@contextmanager
def output_stream(path: str | None, mode: str = "w") -> Iterator[IO[Any]]:
    """stdout, or a file written beside its final name and renamed when complete;
    a failed export leaves neither."""
    target = output_target(path)
    if target is None:
        yield sys.stdout
        return
    partial = target.with_name(target.name + ".part")
    text_options: dict[str, Any] = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        with partial.open(mode, **text_options) as handle:
            yield handle
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
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
        given = [name for name, value in (("--lang", lang), ("--country", country),
                                          ("--theme", theme), ("--source", source),
                                          ("--since", since), ("--until", until)) if value]
        if given:
            raise UsageError(f"--format warc exports everything: {', '.join(given)} "
                             "cannot apply")
        export_warc(db, output)
        return
    filters = make_filter(lang, country, theme, source, since, until)
    output_target(output)
    engine = open_archive(db, readonly=True)
    count = 0
    try:
        with Session(engine) as session:
            require_known_source(session, source)
            with output_stream(output) as stream:
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
    finally:
        engine.dispose()
    if output not in (None, "-"):
        console.print(f"Exported {count} article(s) to {output}.")
    else:
        err_console.print(f"Exported {count} article(s).", style="dim")


def export_warc(db: str | None, output: str | None) -> None:
    target = output_target(output)
    if target is None:
        raise UsageError("--format warc writes a binary file: give --output FILE.warc.gz")
    engine = open_archive(db, readonly=True)
    try:
        with Session(engine) as session, output_stream(output, "wb") as stream:
            counts = write_warc(session, stream, filename=target.name)
    finally:
        engine.dispose()
    console.print(f"Wrote {target}: {counts['response']} response and "
                  f"{counts['revisit']} revisit record(s).")
