"""`silkroad browse`: the archive in Datasette, read-only, searchable in all three languages.

Datasette reads SQLite only: a PostgreSQL archive is browsed as an SQLite snapshot
taken when the command starts (``storage.sqlite_snapshot``, what ``silkroad export
--format sqlite`` writes), in a temporary folder removed when it stops.
"""

from __future__ import annotations

import json
import re
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from sqlalchemy.engine import URL

from crawler.browse import datasette_metadata, templates_dir
from crawler.cli.common import checked_db_url, console, db_option, open_archive
from crawler.errors import UsageError
from storage.archive_file import on_read_only_storage
from storage.engine import is_postgres, parse_db_url, resolve_db_url, sqlite_file
from storage.sqlite_snapshot import write_sqlite_snapshot

DEFAULT_PORT = 8001
DATASETTE_SETTINGS = {
    "suggest_facets": "off",  # suggestions scan the whole table on every page
    # Country and theme facets read JSON arrays: enough time for a search's hits
    # (thousands of rows); on a whole large archive they time out, as designed.
    "facet_time_limit_ms": "1000",
    "truncate_cells_html": "300",
    "default_page_size": "50",
}


def archive_path(db: str | None) -> Path:
    file = sqlite_file(resolve_db_url(db))
    if file is None:
        raise UsageError("browse needs an archive file, e.g. --db sqlite:///archive.sqlite")
    path = file.resolve()
    if not path.is_file():
        raise UsageError(f"no archive at {path}: run `silkroad crawl` or `silkroad demo` first")
    return path


def datasette_args(path: Path, metadata_file: Path, host: str, port: int,
                   open_browser: bool, immutable: bool = False) -> list[str]:
    # Mutable mode where we can: Datasette then reads with mode=ro, which sees the
    # write-ahead log and a crawl writing at the same time; immutable=1 ignores the
    # WAL, but is the only way to read a WAL archive on read-only storage (mode=ro
    # must create the -shm there).
    database = ["-i", str(path)] if immutable else [str(path)]
    args = ["serve", *database, "--metadata", str(metadata_file),
            "--template-dir", str(templates_dir()), "--host", host, "--port", str(port)]
    for name, value in DATASETTE_SETTINGS.items():
        args += ["--setting", name, value]
    if open_browser:
        args.append("--open")
    return args


@click.command("browse")
@click.option("--port", "-p", type=click.IntRange(0, 65535), default=DEFAULT_PORT,
              show_default=True, help="Port to serve on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 exposes it to the network).")
@click.option("--open", "open_browser", is_flag=True, help="Open it in your web browser.")
@db_option
def browse(port: int, host: str, open_browser: bool, db: str | None) -> None:
    """Read, search and facet the archive in your browser (Datasette, read-only) until Ctrl-C.

    The articles are a reading list (title, date, source, countries, excerpt)
    with facets on language, countries, source and theme; each opens as an
    article with where and when it was seen, its other versions and its
    near-duplicates. The search box ranks matches, best first, with highlighted
    excerpts (Chinese by any two characters, phrases, OR/NOT, prefix*).

    \b
    A PostgreSQL archive is served as a snapshot taken at start: later crawls
    are not in it until browse is started again.

    \b
    Example:
      silkroad browse --db sqlite:///demo.sqlite --port 8001
      then open http://127.0.0.1:8001/demo/search?q=中亚
      silkroad browse --db postgresql://me@dbhost/silkroad
    """
    with _stopped_cleanly_by_sigterm():
        _browse(parse_db_url(checked_db_url(db)), db, host, port, open_browser)


@contextmanager
def _stopped_cleanly_by_sigterm() -> Iterator[None]:
    """SIGTERM ends browse as Ctrl-C does, its temporary files removed. Uvicorn
    shuts down on it, then raises it again with the handler it found: ours."""
    def stop(_signum: int, _frame: object) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _browse(url: URL, db: str | None, host: str, port: int, open_browser: bool) -> None:
    if is_postgres(url):
        engine = open_archive(db, readonly=True)
        with tempfile.TemporaryDirectory(prefix="silkroad-browse-") as tmp:
            path = Path(tmp) / f"{_file_name(url.database or 'archive')}.sqlite"
            console.print(f"Taking an SQLite snapshot of {url.render_as_string()} to browse: "
                          "crawls after this moment are not in it (keep one with "
                          "`silkroad export --format sqlite -o FILE`).",
                          markup=False, soft_wrap=True)
            counts = write_sqlite_snapshot(engine, path)
            engine.dispose()
            console.print(f"Snapshot ready: {counts['articles']} article(s).", markup=False)
            _serve(path, host, port, open_browser)
        return
    path = archive_path(db)
    # Checked (ours, not newer) and migrated where writable: the index must exist.
    open_archive(db, readonly=True).dispose()
    _serve(path, host, port, open_browser)


def _file_name(database: str) -> str:
    """The database name as a file name; Datasette names the database after it."""
    return re.sub(r"[^\w.-]+", "_", database).strip("._") or "archive"


def _serve(path: Path, host: str, port: int, open_browser: bool) -> None:
    from datasette import cli as datasette_cli
    from datasette.plugins import pm
    from datasette.utils import tilde_encode

    from crawler.browse import plugin
    from crawler.reporting import datasette_route

    for module in (plugin, datasette_route):
        if not pm.is_registered(module):
            pm.register(module, name=module.PLUGIN_NAME)
    with tempfile.TemporaryDirectory(prefix="silkroad-browse-") as tmp:
        metadata_file = Path(tmp) / "metadata.json"
        metadata_file.write_text(json.dumps(datasette_metadata(path.stem), ensure_ascii=False),
                                 encoding="utf-8")
        click.echo(f"Serving {path} read-only at http://{host}:{port}/{tilde_encode(path.stem)} "
                   "(Ctrl-C to stop)", err=True)
        click.echo(f"Coverage report with charts: http://{host}:{port}/-/report", err=True)
        args = datasette_args(path, metadata_file, host, port, open_browser,
                              immutable=on_read_only_storage(path))
        try:
            datasette_cli.cli.main(args, prog_name="silkroad browse", standalone_mode=False)
        finally:
            plugin.ARTICLES.close()
