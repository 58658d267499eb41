"""`silkroad worker`: one more crawl process on a session that is under way."""

from __future__ import annotations

import sys

import click
from sqlalchemy.orm import Session

from crawler.cli.common import check_db, db_option
from crawler.cli.crawl_cmd import crawl_and_report, parse_settings, setting_option
from crawler.crawl_runner import crawl_settings
from crawler.errors import UsageError
from storage.engine import make_engine, resolve_db_url
from storage.leases import open_session
from storage.migrate import upgrade
from storage.models import CrawlRun
from storage.runs import session_runs


def session_to_join(db_url: str, session_id: int | None, seeds: str | None) -> tuple[int, str]:
    """The session (given, else the newest with pending work) and its seeds file."""
    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with Session(engine) as session, session.begin():
            if session_id is None:
                session_id = open_session(session)
                if session_id is None:
                    raise UsageError(f"no crawl session with pending work in {db_url}: "
                                     "start one with `silkroad crawl`")
            elif session.get(CrawlRun, session_id) is None:
                raise UsageError(f"no crawl session {session_id} in {db_url} "
                                 "(see `silkroad runs`)")
            recorded = next((run.seeds_file for run in session_runs(session, session_id)
                             if run.seeds_file), None)
    finally:
        engine.dispose()
    if seeds is None and recorded is None:
        raise UsageError(f"crawl session {session_id} names no seeds file: give --seeds")
    return session_id, seeds or str(recorded)


@click.command("worker")
@db_option
@click.option("--session", "session_id", type=click.IntRange(min=1), metavar="ID",
              help="The crawl session to join (its first run's id, see `silkroad runs`) "
                   "[default: the newest with pending work].")
@click.option("--seeds", metavar="FILE", default=None,
              help="Seeds file naming the session's sources [default: the one its runs "
                   "recorded; give it when this machine keeps it elsewhere].")
@click.option("--max-pages", type=click.IntRange(min=1), metavar="N",
              help="Stop this worker after N responses (CLOSESPIDER_PAGECOUNT).")
@setting_option
@click.option("--log", "show_log", is_flag=True, help="Show Scrapy's INFO log instead of progress.")
def worker(db: str | None, session_id: int | None, seeds: str | None, max_pages: int | None,
           settings: tuple[str, ...], show_log: bool) -> None:
    """Join a crawl session under way and crawl until it has nothing left.

    Any number of workers, on this machine or others that reach the same archive
    (PostgreSQL for several machines), share the session's frontier: each leases
    a few sites, fetches a small batch of their pages at a time, and gives the
    rest back if it stops or dies. One site is crawled by one worker at a time, so
    DOWNLOAD_DELAY, CONCURRENT_REQUESTS_PER_DOMAIN and AutoThrottle hold per site
    whatever the number of workers. Exits 0 when the session completed.

    \b
    Example:
      silkroad crawl --db postgresql://crawler@db.example/archive   # on one machine
      silkroad worker --db postgresql://crawler@db.example/archive  # on each other one
      silkroad worker --db archive.sqlite --session 42 -s CONCURRENT_REQUESTS=32
    """
    db_url = resolve_db_url(db)
    check_db(db_url, for_writing=True)
    session_id, seeds_file = session_to_join(db_url, session_id, seeds)
    scrapy_settings = crawl_settings(
        seeds_file=seeds_file, db_url=db_url, max_pages=max_pages,
        overrides={**parse_settings(settings), "SILKROAD_SESSION_ID": str(session_id)},
    )
    report = crawl_and_report(scrapy_settings, db_url, quiet_logs=not show_log)
    sys.exit(0 if report.ok else 1)
