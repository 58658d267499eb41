"""`silkroad demo`: the whole product on a bundled offline web, in one command."""

from __future__ import annotations

import sys
import tempfile
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import click
from rich.table import Table
from sqlalchemy.orm import Session

from crawler.cli.common import check_db, console, db_option, display_url
from crawler.cli.crawl_cmd import crawl_and_report
from crawler.crawl_runner import crawl_settings
from crawler.demo.loopback_web import LoopbackWeb, demo_web_dir
from storage.engine import make_engine, resolve_db_url
from storage.records import iter_records

# Our own loopback servers: no politeness delay needed, and no wait to start.
DEMO_SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "False",
    "DOWNLOAD_DELAY": "0",
    "CONCURRENT_REQUESTS_PER_DOMAIN": "8",
    "SILKROAD_TRIGGER": "demo",
    "SILKROAD_BATCH_SECONDS": "0.5",
}
DEMO_PORT = 48_765


def start_demo_web(web_dir: Path) -> LoopbackWeb:
    """On the usual port when free, so the demo's URLs stay the same from run to run."""
    try:
        return LoopbackWeb.from_directory(web_dir, port=DEMO_PORT).start()
    except OSError:
        return LoopbackWeb.from_directory(web_dir).start()


@click.command("demo")
@db_option
def demo(db: str | None) -> None:
    """Serve the bundled offline demo web on loopback, crawl it, show what was archived.

    Three small news sites (English, Chinese, Russian) run on 127.0.0.2-4 (or on
    ports of 127.0.0.1 where only that address exists); nothing leaves the machine.

    \b
    Example:
      silkroad demo --db sqlite:///demo.sqlite
      silkroad search 中亚 --db sqlite:///demo.sqlite
    """
    db_url = resolve_db_url(db)
    check_db(db_url, for_writing=True)
    web_dir = demo_web_dir()
    expected = tomllib.loads((web_dir / "EXPECTED.toml").read_text(encoding="utf-8"))
    with start_demo_web(web_dir) as web, \
            tempfile.TemporaryDirectory(prefix="silkroad-demo-") as tmp:
        seeds_path = Path(tmp) / "sources.toml"
        seeds_path.write_text(web.render((web_dir / "sources.toml").read_text("utf-8")), "utf-8")
        console.print("Serving the demo web: "
                      + ", ".join(web.base_url(name) for name in web.site_names))
        settings = crawl_settings(seeds_file=str(seeds_path), db_url=db_url,
                                  overrides=DEMO_SETTINGS)
        report = crawl_and_report(settings, db_url, quiet_logs=True)
    if not report.ok:
        sys.exit(1)
    show_run_articles(db_url, expected)


def _short(url: str) -> str:
    """host:port/…/last-part: enough to tell the demo's sites and pages apart."""
    parts = urlsplit(url)
    tail = parts.path.rstrip("/").rsplit("/", 1)[-1] or "/"
    return f"{parts.hostname}{'/…/' if parts.path.count('/') > 1 else '/'}{tail}"


def show_run_articles(db_url: str, expected: dict) -> None:
    engine = make_engine(db_url, readonly=True)
    with Session(engine) as session:
        records = [r for r in iter_records(session)]
    engine.dispose()
    table = Table(title=f"Archived articles ({len(records)})", show_lines=False)
    for column in ("id", "lang", "countries", "published", "title", "seen at"):
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(
            str(record["id"]), record["language"] or "", " ".join(record["countries"]),
            record["published"] or "", record["title"] or "",
            "\n".join(_short(url) for url in record["urls"]),
        )
    console.print(table)
    term = expected.get("search", {}).get("zh") or "中亚"
    hits = [r for r in records if term in (r["title"] or "") + r["text"]]
    console.print(f"\nExample search for [bold]{term}[/]: {len(hits)} article(s)")
    for record in hits[:5]:
        console.print(f"  #{record['id']} {record['title']}")
    console.print(f"\nTry: silkroad search {term} --db {display_url(db_url)}", markup=False)
