"""`silkroad export`: the archive out as JSON Lines, CSV, WARC or an SQLite snapshot."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import click
from sqlalchemy.orm import Session

from crawler.analysis.topic_vocabulary import profile_tags
from crawler.cli.common import (
    checked_db_url,
    console,
    db_option,
    err_console,
    open_archive,
)
from crawler.cli.safe_output import STDOUT, output_file, output_stream, output_target
from crawler.errors import UsageError
from storage.engine import sqlite_file
from storage.known_values import require_known_filters
from storage.records import DATE_FORMS, RECORD_FIELDS, ArticleFilter, iter_records, parse_day
from storage.sqlite_snapshot import write_sqlite_snapshot
from storage.wacz_export import write_wacz
from storage.warc_export import WARC_VERSIONS, write_warc

# Spreadsheets read a cell starting with these as a formula; the fullwidth forms too,
# in some locales (and this archive holds Chinese text).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")
_LANGUAGE_CODE = re.compile(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*")


class ThemeOption(click.Option):
    """``--theme``, whose help lists the topic profile's themes (read only for --help)."""

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        self.help = f"Theme: {', '.join(profile_tags().themes)}."
        return super().get_help_record(ctx)


def filter_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option("--lang", metavar="L",
                         help="Language code, e.g. en, ru, zh-Hant; zh is zh-Hans and "
                              "zh-Hant too."),
            click.option("--country", metavar="CC", help="ISO 3166 alpha-2 code, e.g. KZ."),
            click.option("--theme", metavar="T", cls=ThemeOption),
            click.option("--source", metavar="NAME", help="Source name as in the seeds file."),
            click.option("--since", metavar="DATE",
                         help=f"Published (or first seen) on/after DATE: {DATE_FORMS} "
                              "(2025 is from 1 January)."),
            click.option("--until", metavar="DATE",
                         help=f"Published (or first seen) on/before DATE: {DATE_FORMS} "
                              "(2025-06 is through 30 June)."),
        ]
    ):
        func = option(func)
    return func


def make_filter(lang: str | None, country: str | None, theme: str | None, source: str | None,
                since: str | None, until: str | None) -> ArticleFilter:
    """The filters as given, refused (one line, exit 2) when they cannot match anything
    by construction: a malformed code or date, or a period that ends before it starts.
    A year or a month is a period: ``--since`` takes its first day, ``--until`` its last."""
    if country is not None and not _COUNTRY_CODE.fullmatch(country):
        raise UsageError(f"--country wants an ISO 3166 alpha-2 code such as KZ, got {country!r}")
    if lang is not None and not _LANGUAGE_CODE.fullmatch(lang):
        raise UsageError(f"--lang wants a language code such as en, zh or ru, got {lang!r}")
    first = parse_day(since, option="--since")
    last = parse_day(until, last=True, option="--until")
    if first and last and first > last:
        raise UsageError(f"--since {since} is after --until {until}")
    return ArticleFilter(language=lang, country=country, theme=theme, source=source,
                         since=first, until=last)


def csv_safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas (CSV injection): prefix a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)
    return csv_safe(value)


@click.command("export")
@click.option("--format", "fmt",
              type=click.Choice(["jsonl", "csv", "warc", "wacz", "sqlite"]),
              default="jsonl", show_default=True,
              help="jsonl/csv: one record per article; warc: every stored response and "
                   "revisit as WARC (FILE.warc plain, other names per-record gzip); wacz: "
                   "that WARC with its CDXJ index and page list, for ReplayWeb.page and pywb; "
                   "sqlite: the whole archive as one SQLite file that search, stats and "
                   "browse open (warc, wacz and sqlite need --output; filters do not apply).")
@click.option("--warc-version", type=click.Choice(WARC_VERSIONS), default="1.1",
              show_default=True, help="WARC version of --format warc/wacz.")
@click.option("--output", "-o", metavar="PATH",
              help="Write this file (whole or not at all) instead of stdout; - is stdout. "
                   "Never the archive itself, a device or a pipe.")
@click.option("--force", is_flag=True, help="Replace --output if it already exists.")
@filter_options
@db_option
def export(fmt: str, output: str | None, force: bool, warc_version: str, lang: str | None,
           country: str | None, theme: str | None, source: str | None, since: str | None,
           until: str | None, db: str | None) -> None:
    """Export articles (all, or those matching the filters), streamed in constant memory.

    Each record carries id, url, urls, title, author, published, language, source,
    text, content_hash, relevance, countries, themes, first_seen, last_seen, duplicate_of.

    \b
    Example:
      silkroad export --format jsonl --output archive.jsonl
      silkroad export --format csv --country KZ --since 2025 > kz.csv
      silkroad export --format warc --output archive.warc.gz
      silkroad export --format wacz --output archive.wacz   # open in ReplayWeb.page
      silkroad export --format sqlite -o team.sqlite --db postgresql://me@db/silkroad
      silkroad export -o - | gzip > archive.jsonl.gz
      silkroad export --output archive.jsonl --force   # replace last week's export
    """
    if fmt in ("warc", "wacz", "sqlite"):
        given = [name for name, value in (("--lang", lang), ("--country", country),
                                          ("--theme", theme), ("--source", source),
                                          ("--since", since), ("--until", until)) if value]
        if given:
            raise UsageError(f"--format {fmt} exports everything: {', '.join(given)} "
                             "cannot apply")
        if fmt == "sqlite":
            export_sqlite(db, output, force)
        else:
            export_web_archive(db, output, force, fmt, warc_version)
        return
    filters = make_filter(lang, country, theme, source, since, until)
    target = _checked_output(db, output, force)
    engine = open_archive(db, readonly=True)
    count = 0
    try:
        with Session(engine) as session:
            require_known_filters(session, filters)
            with output_stream(target) as stream:
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
    if target is not None:
        console.print(f"Exported {count} article(s) to {output}.")
    else:
        err_console.print(f"Exported {count} article(s).", style="dim")


def _checked_output(db: str | None, output: str | None, force: bool) -> Path | None:
    return output_target(output, archive=sqlite_file(checked_db_url(db)), force=force)


def export_web_archive(db: str | None, output: str | None, force: bool, fmt: str,
                       version: str) -> None:
    """WARC or WACZ. A WARC named ``*.warc`` is plain, any other name gets per-record gzip
    (``*.warc.gz``): tools pick their reader by the extension."""
    if output in (None, STDOUT):
        raise UsageError(f"--format {fmt} writes a binary file: give --output "
                         f"FILE.{'warc.gz' if fmt == 'warc' else 'wacz'}")
    target = _checked_output(db, output, force)
    assert target is not None
    engine = open_archive(db, readonly=True)
    try:
        with Session(engine) as session, output_stream(target, "wb") as stream:
            if fmt == "wacz":
                counts = write_wacz(session, stream, title=target.stem, version=version)
            else:
                counts = write_warc(session, stream, filename=target.name, version=version,
                                    gzip=not target.name.lower().endswith(".warc"))
    finally:
        engine.dispose()
    pages = f", {counts['pages']} article page(s) listed" if fmt == "wacz" else ""
    console.print(f"Wrote {target}: {counts['response']} response, {counts['revisit']} "
                  f"revisit and {counts['request']} request record(s){pages}.")


def export_sqlite(db: str | None, output: str | None, force: bool) -> None:
    if output in (None, STDOUT):
        raise UsageError("--format sqlite writes a database file: give --output FILE.sqlite")
    target = _checked_output(db, output, force)
    assert target is not None
    engine = open_archive(db, readonly=True)
    try:
        with output_file(target) as partial:
            counts = write_sqlite_snapshot(engine, partial)
    finally:
        engine.dispose()
    console.print(f"Wrote {target}: {counts['articles']} article(s), {counts['snapshots']} "
                  f"snapshot(s), {counts['crawl_runs']} run(s), search index rebuilt. "
                  f"Read it with --db {target}", markup=False, soft_wrap=True)
