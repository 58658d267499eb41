"""Migrations keep data: an archive made by the first release, upgraded to head, loses
nothing and gains what the later revisions add (search index, near-duplicate
signatures); and the models and the migrations describe the same schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.orm import Session

from crawler.analysis.near_duplicates import band_keys, signature
from storage import migrate
from storage.engine import make_engine
from storage.migrate import current_revision, head_revision, upgrade
from storage.models import Base
from storage.search.index import index_drift
from storage.search.ranked import search_articles

RAIL = ("Freight trains between Kashgar in China and Andijan in Uzbekistan will cross "
        "Kyrgyzstan on the new railway, officials said after talks in Bishkek. Tunnels "
        "through the Fergana range are the hardest part of the line, which is financed "
        "by the three governments and Chinese banks.")
RAIL_REPOST = RAIL.replace("officials said", "transport officials said on Monday")
GAS = ("中国与土库曼斯坦签署协议，中亚天然气管道D线将经过乌兹别克斯坦、塔吉克斯坦和吉尔吉斯斯坦，"
       "向中国西部输送更多天然气。")

T0, T1, T2, T3 = (f"2025-01-02 03:{m}.000000" for m in ("04:05", "04:06", "05:00", "10:00"))
# Rows as the first release wrote them (revision 0001), through plain SQL.
ROWS_0001: dict[str, list[dict[str, object]]] = {
    "sources": [
        {"id": 1, "name": "Caravan Wire", "language": "en", "created_at": T0},
        {"id": 2, "name": "丝路观察", "language": "zh", "created_at": T1},
    ],
    "crawl_runs": [
        {"id": 1, "trigger": "manual", "started_at": T0,
         "finished_at": T3, "outcome": "ok", "exit_status": 0,
         "seeds_file": "seeds/sources.toml", "pid": 4242, "pages_fetched": 3,
         "articles_archived": 3, "duplicates": 0, "off_topic": 0, "errors": 0,
         "stats": json.dumps({"close_reason": "finished"})},
    ],
    "pages": [
        {"id": i, "url": url, "source_id": src, "first_seen_at": T2,
         "last_fetched_at": T2, "last_status": 200,
         "last_outcome": "article", "etag": f'"e{i}"', "last_modified": None,
         "last_digest": f"{i:064x}", "last_snapshot_id": i, "discovered_via": "seed"}
        for i, url, src in ((1, "http://wire.example/rail.html", 1),
                            (2, "http://mirror.example/rail-repost.html", 1),
                            (3, "http://silk.example/gas.html", 2))
    ],
    "snapshots": [
        {"id": i, "page_id": i, "run_id": 1, "fetched_at": T2,
         "url": url, "requested_url": url, "status": 200,
         "headers": json.dumps({"Content-Type": ["text/html"]}), "content_type": "text/html",
         "encoding": "utf-8", "body": b"x\x9c\x03\x00\x00\x00\x00\x01", "body_sha256": f"{i:064x}",
         "body_size": 0}
        for i, url in ((1, "http://wire.example/rail.html"),
                       (2, "http://mirror.example/rail-repost.html"),
                       (3, "http://silk.example/gas.html"))
    ],
    "articles": [
        {"id": i, "content_hash": f"{i:064x}", "url": url, "title": title, "author": None,
         "published": published, "language": lang, "text": body, "description": None,
         "site_name": None, "source_id": src, "page_id": i, "relevance": 0.9,
         "countries": json.dumps(countries), "themes": json.dumps(["transport"]),
         "topic_version": "2025.01", "extractor": "trafilatura-2.0",
         "first_seen_at": T2, "last_seen_at": T2,
         "first_run_id": 1, "duplicate_of": None}
        for i, url, title, published, lang, body, src, countries in (
            (1, "http://wire.example/rail.html", "Railway to cross Kyrgyzstan", "2025-01-01",
             "en", RAIL, 1, ["CN", "KG", "UZ"]),
            (2, "http://mirror.example/rail-repost.html", "Railway to cross Kyrgyzstan (repost)",
             "2025-01-02", "en", RAIL_REPOST, 1, ["CN", "KG", "UZ"]),
            (3, "http://silk.example/gas.html", "中亚天然气管道D线", "2025-01-01", "zh", GAS, 2,
             ["CN", "TM"]),
        )
    ],
    "sightings": [
        {"id": i, "article_id": i, "page_id": i, "snapshot_id": i, "url": url,
         "first_seen_at": T2, "last_seen_at": T2,
         "first_run_id": 1, "last_run_id": 1, "times_seen": 1}
        for i, url in ((1, "http://wire.example/rail.html?utm_source=x"),
                       (2, "http://mirror.example/rail-repost.html"),
                       (3, "http://silk.example/gas.html"))
    ],
}


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every 0001 column of every 0001 table, as stored."""
    with engine.connect() as conn:
        return {
            table: [tuple(row) for row in conn.execute(text(
                f"SELECT {', '.join(rows[0])} FROM {table} ORDER BY id"))]
            for table, rows in ROWS_0001.items()
        }


@pytest.fixture
def first_release_archive(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
        for table, rows in ROWS_0001.items():
            columns = list(rows[0])
            conn.execute(text(f"INSERT INTO {table} ({', '.join(columns)}) "
                              f"VALUES ({', '.join(':' + c for c in columns)})"), rows)
    yield engine
    engine.dispose()


def test_upgrading_keeps_every_row(first_release_archive: Engine) -> None:
    before = dump(first_release_archive)
    assert all(len(rows) == len(ROWS_0001[table]) for table, rows in before.items())
    assert upgrade(first_release_archive) is True
    assert current_revision(first_release_archive) == head_revision()
    assert dump(first_release_archive) == before
    with first_release_archive.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
    assert upgrade(first_release_archive) is False  # already at head


def test_upgrading_backfills_the_search_index(first_release_archive: Engine) -> None:
    upgrade(first_release_archive)
    with Session(first_release_archive) as session:
        assert index_drift(session).clean
        assert [hit.record["id"] for hit in search_articles(session, "Monday")] == [2]
        assert {hit.record["id"] for hit in search_articles(session, "Fergana")} == {1, 2}
        assert [hit.record["id"] for hit in search_articles(session, "天然气管道")] == [3]
        assert [hit.record["id"] for hit in search_articles(session, "中亚")] == [3]


def test_upgrading_backfills_near_duplicate_signatures(first_release_archive: Engine) -> None:
    upgrade(first_release_archive)
    with first_release_archive.connect() as conn:
        articles = conn.execute(text("SELECT id, text, minhash, similarity FROM articles "
                                     "ORDER BY id")).all()
        bands = conn.execute(text("SELECT article_id, band, bucket FROM article_bands")).all()
    for article_id, body, minhash, similarity in articles:
        assert minhash == signature(body)
        assert similarity is None
        assert {(b, k) for a, b, k in bands if a == article_id} == set(band_keys(minhash))
    shared = ({(b, k) for a, b, k in bands if a == 1} & {(b, k) for a, b, k in bands if a == 2})
    assert shared, "a repost must share LSH buckets with its original"


def test_upgrading_adds_empty_new_tables_and_columns(first_release_archive: Engine) -> None:
    upgrade(first_release_archive)
    with first_release_archive.connect() as conn:
        tables = set(inspect(conn).get_table_names())
        assert {"article_bands", "fetches", "frontier", "articles_fts"} <= tables
        for table in ("fetches", "frontier"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0
        assert conn.execute(text("SELECT session_id FROM crawl_runs")).all() == [(None,)]


# Tables that hand-written revisions (FTS5) or other libraries (APScheduler) own.
NOT_MODELLED = ("articles_fts", "apscheduler_jobs")


def _include(obj: object, name: str | None, type_: str, reflected: bool,
             compare_to: object) -> bool:
    return not (type_ == "table" and name and name.startswith(NOT_MODELLED))


def test_models_and_migrations_agree(tmp_path: Path) -> None:
    """`alembic check`: autogenerate would write nothing for a head-migrated archive."""
    engine = make_engine(f"sqlite:///{tmp_path / 'head.sqlite'}")
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": _include, "compare_type": True, "render_as_batch": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_an_archive_another_process_just_created_is_opened(db_url: str,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """Two crawls opening one fresh archive at once: the one that finds no revision, and
    then the tables the other has just created, opens it (it was "not a Silkroad
    archive")."""
    engine, other = make_engine(db_url), make_engine(db_url)
    look_for_tables = migrate._has_tables

    def the_other_migrates_meanwhile(target: Engine) -> bool:
        monkeypatch.setattr(migrate, "_has_tables", look_for_tables)
        assert upgrade(other)
        return look_for_tables(target)

    monkeypatch.setattr(migrate, "_has_tables", the_other_migrates_meanwhile)
    assert upgrade(engine) is False
    assert current_revision(engine) == head_revision()
    engine.dispose()
    other.dispose()
