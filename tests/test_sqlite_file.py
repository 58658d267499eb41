"""`storage.engine.sqlite_file`: the one answer to "which file is this archive?"."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storage.engine import sqlite_file


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:",
                                 "sqlite:///file:archive.sqlite?mode=ro&uri=true"])
def test_memory_and_uri_databases_have_no_file(url: str) -> None:
    assert sqlite_file(url) is None
    assert sqlite_file(make_url(url)) is None


def test_a_url_or_a_plain_path_names_its_file(tmp_path: Path) -> None:
    path = tmp_path / "a.sqlite"
    assert sqlite_file(f"sqlite:///{path}") == path
    assert sqlite_file(str(path)) == path
    assert sqlite_file(make_url("sqlite:///relative.sqlite")) == Path("relative.sqlite")


def test_home_is_expanded() -> None:
    assert sqlite_file(make_url("sqlite:///~/a.sqlite")) == Path.home() / "a.sqlite"
