"""`silkroad report`: the coverage report, one offline HTML page of charts (and PNG/SVG)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy.orm import Session

from crawler.cli.common import (
    checked_db_url,
    console,
    db_option,
    display_url,
    err_console,
    open_archive,
)
from crawler.cli.export_cmd import ThemeOption
from crawler.cli.safe_output import output_stream, output_target
from crawler.errors import UsageError
from crawler.reporting.build import make_report
from crawler.reporting.charts import CHART_NAMES
from crawler.reporting.filters import DEFAULT_QUIET_DAYS, ReportFilters
from crawler.reporting.images import ChartImages, chart_images
from storage.coverage import DEFAULT_TOP_STORIES
from storage.engine import sqlite_file
from storage.records import DATE_FORMS


@click.command("report")
@click.option("--output", "-o", metavar="FILE", required=True,
              help="The HTML file to write (whole or not at all); - is stdout.")
@click.option("--since", metavar="DATE",
              help=f"Articles dated on/after DATE: {DATE_FORMS} (2025 is from 1 January).")
@click.option("--until", metavar="DATE",
              help=f"Articles dated on/before DATE: {DATE_FORMS} (2025-06 is through 30 June).")
@click.option("--country", metavar="CC",
              help="Only articles about this country (ISO code, e.g. KZ).")
@click.option("--theme", metavar="T", cls=ThemeOption)
@click.option("--images", metavar="DIR",
              help="Also write each chart as DIR/NAME.png and DIR/NAME.svg (for slides); "
                   "DIR is created if its parent exists.")
@click.option("--quiet-days", type=click.IntRange(min=1), default=DEFAULT_QUIET_DAYS,
              show_default=True,
              help="A source is quiet when its newest article is this many days older than "
                   "the archive's newest.")
@click.option("--top", type=click.IntRange(1, 100), default=DEFAULT_TOP_STORIES,
              show_default=True, help="How many of the most reposted stories to show.")
@click.option("--force", is_flag=True, help="Replace the output file and images if they exist.")
@db_option
def report(output: str, since: str | None, until: str | None, country: str | None,
           theme: str | None, images: str | None, quiet_days: int, top: int, force: bool,
           db: str | None) -> None:
    """Coverage report: one self-contained HTML page of charts that opens offline.

    Articles per month by country, theme and language; sources by volume and by
    their newest article, quiet ones marked; the most reposted stories; headline
    figures. The filters apply to every chart and are written on the page. An
    article is dated by its publication day, else by the day it was first archived.

    \b
    Example:
      silkroad report --output report.html
      silkroad report -o kz-energy.html --country KZ --theme energy --since 2025
      silkroad report -o report.html --images slides/ --db sqlite:///demo.sqlite
    """
    filters = ReportFilters.parse(since, until, country, theme)
    url = checked_db_url(db)
    target = output_target(output, archive=sqlite_file(url), force=force)
    if target is not None:
        _require_writable(target.parent)
    image_dir = _image_dir(images, force) if images else None
    messages = err_console if target is None else console
    with err_console.status("Reading the archive and drawing the charts…") as status:
        engine = open_archive(db, readonly=True)
        with Session(engine) as session:
            made = make_report(session, filters, archive=display_url(url),
                               quiet_days=quiet_days, top=top)
        engine.dispose()
        drawn: list[ChartImages] = []
        if image_dir is not None:
            status.update("Drawing PNG and SVG of each chart…")
            drawn = [found for chart in made.charts if (found := chart_images(chart)) is not None]
        with output_stream(target) as handle:
            handle.write(made.html)
        if image_dir is not None:
            _write_images(image_dir, drawn)
    summary = (f"Report of {made.figures.articles:,} article(s) ({filters.describe()}), "
               f"{made.drawn} of {len(made.charts)} charts drawn, written to "
               f"{target if target is not None else 'stdout'}")
    if image_dir is not None:
        summary += f"; PNG and SVG of {len(drawn)} chart(s) in {image_dir}"
    messages.print(summary + ".", markup=False, soft_wrap=True)


def _require_writable(folder: Path) -> None:
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write in {folder}: permission denied")


def _image_dir(images: str, force: bool) -> Path:
    """The folder for PNG/SVG, checked before the archive is read: an existing folder or
    a new one in an existing folder, with no chart image in it unless ``--force``."""
    folder = Path(images).expanduser()
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--images {folder} is not a folder")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise UsageError(f"--images: folder {folder.parent} does not exist")
        _require_writable(folder.parent)
        return folder
    _require_writable(folder)
    existing = [name for stem in CHART_NAMES for name in (f"{stem}.png", f"{stem}.svg")
                if (folder / name).exists()]
    if existing and not force:
        raise UsageError(f"{folder / existing[0]} already exists: add --force to replace "
                         "the chart images")
    return folder


def _write_images(folder: Path, drawn: list[ChartImages]) -> None:
    """Each file whole or not at all (a temporary file renamed into place)."""
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {folder}: {exc.strerror}") from None
    for images in drawn:
        with output_stream(folder / f"{images.name}.png", "wb") as handle:
            handle.write(images.png)
        with output_stream(folder / f"{images.name}.svg") as handle:
            handle.write(images.svg)
