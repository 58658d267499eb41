"""`silkroad worker` on an archive with nothing to join: one line, exit 2."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from crawler.cli.main import cli
from crawler.vocabulary import Trigger
from storage.runs import start_run


def test_a_worker_without_a_session_to_join_says_so(db_url: str, engine: Engine) -> None:
    result = CliRunner().invoke(cli, ["worker", "--db", db_url])
    assert result.exit_code == 2, result.output
    assert "no crawl session with pending work" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_worker_names_an_unknown_session(db_url: str, engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        start_run(session, trigger=Trigger.MANUAL)
    result = CliRunner().invoke(cli, ["worker", "--db", db_url, "--session", "7"])
    assert result.exit_code == 2, result.output
    assert "no crawl session 7" in result.output
