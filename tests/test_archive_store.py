"""The storage write API on a real, migrated archive (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from crawler.analysis.fingerprint import content_hash
from crawler.analysis.snapshot_body import unpack_body
from storage.archive import ArticleRecord, FetchRecord, record_fetch, start_run
from storage.models import Article, Page, Sighting, Snapshot
from storage.records import ArticleFilter, iter_records, parse_day

TEXT = "China and Kazakhstan opened a new rail freight route through Khorgos this week."


def fetch(url: str, body: bytes, when: str = "2026-01-01T10:00:00", **kw: object) -> FetchRecord:
    return FetchRecord(
        page_url=url, url=url, final_url=url, status=200,
        headers={"Content-Type": ["text/html"], "ETag": ['"v1"']}, body=body,
        fetched_at=datetime.fromisoformat(when), source=str(kw.get("source", "Steppe")),
    )


def article(text: str = TEXT, **kw: object) -> ArticleRecord:
    return ArticleRecord(content_hash=content_hash(text), text=text, relevance=0.9,
                         title="Rail route", language="en", countries=("CN", "KZ"),
                         themes=("transport",), **kw)  # type: ignore[arg-type]


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_new_page_new_article(session: Session) -> None:
    with session.begin():
        run = start_run(session, trigger="manual")
        result = record_fetch(session, fetch("http://a/1", b"<p>1</p>"), article(),
                              run_id=run.id, outcome="article")
    assert (result.page_state, result.article_state) == ("new", "new")
    snap = session.scalars(select(Snapshot)).one()
    assert unpack_body(snap.body) == b"<p>1</p>" and snap.run_id == run.id
    assert snap.headers["ETag"] == ['"v1"']
    page = session.scalars(select(Page)).one()
    assert page.etag == '"v1"' and page.last_snapshot_id == snap.id


def test_a_body_packed_by_a_worker_is_stored_as_packed(session: Session) -> None:
    from dataclasses import replace

    from crawler.analysis.page_analysis import analyse_page

    body = b"<html><body><p>" + b"Khorgos " * 400 + b"</p></body></html>"
    analysis = analyse_page(body, "http://a/1", "text/html", pack=True)
    assert analysis.packed_body is not None and analysis.packed_body.size == len(body)
    with session.begin():
        record_fetch(session, replace(fetch("http://a/1", body), packed=analysis.packed_body),
                     None, run_id=None, outcome="no_article")
        # the same bytes again, unpacked: a revisit, not a second snapshot
        again = record_fetch(session, fetch("http://a/1", body, "2026-01-02T10:00:00"), None,
                             run_id=None, outcome="no_article")
    snap = session.scalars(select(Snapshot)).one()
    assert snap.body == analysis.packed_body.compressed and unpack_body(snap.body) == body
    assert snap.body_sha256 == analysis.packed_body.sha256 and snap.body_size == len(body)
    assert again.page_state == "unchanged"


def test_same_text_at_two_urls_is_one_article_two_sightings(session: Session) -> None:
    with session.begin():
        record_fetch(session, fetch("http://a/1", b"<p>a</p>"), article(), run_id=None,
                     outcome="article")
        second = record_fetch(session, fetch("http://b/9", b"<div>b</div>", source="Other"),
                              article(), run_id=None, outcome="article")
    assert second.article_state == "duplicate"
    assert count(session, Article) == 1
    assert sorted(session.scalars(select(Sighting.url))) == ["http://a/1", "http://b/9"]
    [record] = list(iter_records(session))
    assert record["urls"] == ["http://a/1", "http://b/9"]
    assert record["url"] == "http://a/1" and record["source"] == "Steppe"


def test_unchanged_body_is_a_revisit_without_new_snapshot(session: Session) -> None:
    with session.begin():
        record_fetch(session, fetch("http://a/1", b"same"), article(), run_id=None,
                     outcome="article")
        again = record_fetch(session, fetch("http://a/1", b"same", "2026-01-02T10:00:00"),
                             article(), run_id=None, outcome="article")
    assert (again.page_state, again.article_state) == ("unchanged", "duplicate")
    assert count(session, Snapshot) == 1 and count(session, Article) == 1
    sighting = session.scalars(select(Sighting)).one()
    assert sighting.times_seen == 2 and sighting.last_seen_at == datetime(2026, 1, 2, 10)


def test_changed_text_is_a_new_version_and_old_kept(session: Session) -> None:
    with session.begin():
        record_fetch(session, fetch("http://a/1", b"v1"), article(), run_id=None, outcome="article")
        changed = record_fetch(session, fetch("http://a/1", b"v2", "2026-01-03T00:00:00"),
                               article(TEXT + " Updated."), run_id=None, outcome="article")
    assert (changed.page_state, changed.article_state) == ("changed", "new")
    assert count(session, Snapshot) == 2 and count(session, Article) == 2
    texts = session.scalars(select(Article.text).order_by(Article.id)).all()
    assert texts == [TEXT, TEXT + " Updated."]


def test_off_topic_page_is_recorded_without_article(session: Session) -> None:
    with session.begin():
        result = record_fetch(session, fetch("http://a/sport", b"<p>football</p>"), None,
                              run_id=None, outcome="off_topic")
    assert result.article_state is None
    assert count(session, Article) == 0
    assert session.scalars(select(Page.last_outcome)).one() == "off_topic"


def test_filters(session: Session) -> None:
    with session.begin():
        record_fetch(session, fetch("http://a/1", b"1"), article(published="2025-06-17"),
                     run_id=None, outcome="article")
        other = ArticleRecord(content_hash=content_hash("ru"), text="ru", relevance=0.5,
                              language="ru", countries=("CN", "UZ"), themes=("energy",),
                              published="2026-01-20")
        record_fetch(session, fetch("http://c/2", b"2", source="Vestnik"), other, run_id=None,
                     outcome="article")


    def ids(**kw: object) -> list[str]:
        return [r["language"] for r in iter_records(session, ArticleFilter(**kw))]  # type: ignore[arg-type]

    assert ids(country="kz") == ["en"]
    assert ids(country="CN") == ["en", "ru"]
    assert ids(theme="energy") == ["ru"]
    assert ids(language="ru") == ["ru"]
    assert ids(source="Vestnik") == ["ru"]
    assert ids(since=parse_day("2026-01-01")) == ["ru"]
    assert ids(until=parse_day("2025-12-31")) == ["en"]


def test_near_duplicate_repost_links_to_original(session: Session) -> None:
    from crawler.analysis.near_duplicates import signature

    paragraphs = [
        f"Paragraph {i}: officials from China and Uzbekistan discussed freight volumes, "
        f"customs rules and the schedule of the new railway section number {i} near Osh."
        for i in range(10)
    ]
    original = " ".join(paragraphs)
    edited = " ".join(paragraphs[:4] + ["A rewritten paragraph about something else."]
                      + paragraphs[5:]) + " Reporting by our correspondent."
    unrelated = ("The weather in Almaty stayed warm and dry for the whole of the week, "
                 "forecasters said.")
    with session.begin():
        for url, text in (("http://a/1", original), ("http://b/1", edited),
                          ("http://c/1", unrelated)):
            record_fetch(session, fetch(url, text.encode()),
                         article(text, minhash=signature(text)), run_id=None, outcome="article")
    rows = session.execute(select(Article.url, Article.duplicate_of, Article.similarity)
                           .order_by(Article.id)).all()
    assert rows[0].duplicate_of is None
    assert rows[1].duplicate_of == 1 and rows[1].similarity >= 0.6
    assert rows[2].duplicate_of is None


def test_a_first_fetch_without_article_writes_what_a_later_one_reads(session: Session) -> None:
    """The first fetch of a page is written without the ORM; the next one goes through it."""
    from dataclasses import replace

    from storage.models import Fetch, Source

    first = replace(fetch("http://a/sport", b"<p>football</p>"),
                    url="http://a/sport?utm_source=x", discovered_via="page:http://a/",
                    encoding="utf-8")
    with session.begin():
        run = start_run(session, trigger="manual")
        stored = record_fetch(session, first, None, run_id=run.id, outcome="off_topic")
        changed = record_fetch(session, fetch("http://a/sport", b"<p>cricket</p>",
                                              "2026-01-02T10:00:00"),
                               None, run_id=run.id, outcome="off_topic")
    assert (stored.page_state, changed.page_state) == ("new", "changed")
    page = session.scalars(select(Page)).one()
    snapshots = session.scalars(select(Snapshot).order_by(Snapshot.id)).all()
    assert [unpack_body(s.body) for s in snapshots] == [b"<p>football</p>", b"<p>cricket</p>"]
    snap = snapshots[0]
    assert (snap.id, snap.page_id, snap.run_id, snap.url, snap.requested_url, snap.status) == (
        stored.snapshot_id, page.id, run.id, "http://a/sport", "http://a/sport?utm_source=x", 200)
    assert (snap.content_type, snap.encoding, snap.headers["ETag"]) == (
        "text/html", "utf-8", ['"v1"'])
    assert snap.body_size == len(b"<p>football</p>")
    assert (page.source_id, page.discovered_via, page.last_outcome, page.last_status) == (
        session.scalar(select(Source.id).where(Source.name == "Steppe")), "page:http://a/",
        "off_topic", 200)
    assert page.first_seen_at == datetime(2026, 1, 1, 10)
    assert page.last_fetched_at == datetime(2026, 1, 2, 10)
    assert page.last_snapshot_id == snapshots[1].id
    assert page.last_digest == snapshots[1].body_sha256
    logged = session.execute(select(Fetch.snapshot_id, Fetch.revisit, Fetch.outcome)
                             .order_by(Fetch.id)).all()
    assert logged == [(snapshots[0].id, False, "off_topic"), (snapshots[1].id, False, "off_topic")]


def test_every_fetch_is_logged(session: Session) -> None:
    from storage.models import Fetch

    with session.begin():
        record_fetch(session, fetch("http://a/1", b"x"), article(), run_id=None, outcome="article")
        record_fetch(session, fetch("http://a/1", b"x", "2026-01-02T00:00:00"), None, run_id=None,
                     outcome="revisit")
    logged = session.execute(select(Fetch.revisit, Fetch.snapshot_id).order_by(Fetch.id)).all()
    assert [r.revisit for r in logged] == [False, True]
    assert logged[0].snapshot_id == logged[1].snapshot_id is not None


def test_the_earlier_publication_is_the_original_whatever_the_crawl_order(session: Session) -> None:
    from crawler.analysis.near_duplicates import signature

    base = " ".join(f"Sentence {i} about the Khorgos dry port, China and Kazakhstan."
                    for i in range(30))
    repost = base + " Republished with permission."
    with session.begin():
        record_fetch(session, fetch("http://mirror/1", repost.encode()),
                     article(repost, minhash=signature(repost), published="2025-09-09"),
                     run_id=None, outcome="article")
        record_fetch(session, fetch("http://wire/1", base.encode()),
                     article(base, minhash=signature(base), published="2025-09-08"),
                     run_id=None, outcome="article")
    rows = dict(session.execute(select(Article.url, Article.duplicate_of)).all())
    original = session.scalar(select(Article.id).where(Article.url == "http://wire/1"))
    assert rows == {"http://wire/1": None, "http://mirror/1": original}


def test_near_duplicate_candidates_are_found_by_index_not_by_scan(session: Session) -> None:
    """The LSH lookup must search the band index: a table scan grows with the archive."""
    from sqlalchemy import event

    from crawler.analysis.near_duplicates import signature

    plans: list[str] = []
    engine = session.get_bind()
    postgres = engine.dialect.name == "postgresql"

    def explain(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "article_bands" in statement and statement.lstrip().upper().startswith("SELECT"):
            how = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = conn.exec_driver_sql(how + statement, parameters).all()
            plans.extend(row[-1] for row in rows)

    base = " ".join(f"Sentence {i} on the Khorgos gateway and Caspian ferries." for i in range(30))
    with session.begin():
        record_fetch(session, fetch("http://a/1", b"1"), article(base, minhash=signature(base)),
                     run_id=None, outcome="article")
    event.listen(engine, "before_cursor_execute", explain)
    try:
        with session.begin():
            if postgres:  # a table this small is scanned whatever its indexes: can it not be?
                session.execute(text("SET LOCAL enable_seqscan = off"))
            repost = base + " Shared by a partner site."
            record_fetch(session, fetch("http://b/1", b"2"),
                         article(repost, minhash=signature(repost)), run_id=None,
                         outcome="article")
    finally:
        event.remove(engine, "before_cursor_execute", explain)
    if postgres:
        assert any("Index Scan on pk_article_bands" in plan for plan in plans), plans
        assert not any("Seq Scan on article_bands" in plan for plan in plans), plans
    else:
        assert any("SEARCH article_bands USING PRIMARY KEY" in plan for plan in plans), plans
        assert not any(plan.startswith("SCAN article_bands") for plan in plans), plans
    assert session.scalar(select(Article.duplicate_of).where(Article.url == "http://b/1"))


def test_sources_of_a_seeds_file_are_registered_in_one_go(session: Session) -> None:
    from storage.archive import SourceCache
    from storage.models import Source

    with session.begin():
        record_fetch(session, fetch("http://a/1", b"x", source="Steppe"), None, run_id=None,
                     outcome="no_article")
    cache = SourceCache()
    with session.begin():
        cache.preload(session, [("Steppe", "en"), ("Xinhua", "zh"), ("TASS", "ru")])
    with session.begin():
        rows = {s.name: (s.id, s.language) for s in session.scalars(select(Source))}
    assert set(rows) == {"Steppe", "Xinhua", "TASS"}  # the known one is not added twice
    assert rows["Xinhua"][1] == "zh" and rows["TASS"][1] == "ru"
    assert cache.ids == {name: source_id for name, (source_id, _) in rows.items()}
    with session.begin():
        again = record_fetch(session, fetch("http://x/1", b"y", source="Xinhua"), None,
                             run_id=None, outcome="no_article", sources=cache)
    assert again.page_state == "new" and count(session, Source) == 3


def test_snapshots_written_before_zstd_still_read_back() -> None:
    """Archives from before the switch hold zlib bodies; export and reprocess must read both."""
    import zlib

    from crawler.analysis.snapshot_body import ZSTD_MAGIC, pack_body

    body = "<p>Хоргос 霍尔果斯 Khorgos</p>".encode() * 50
    packed = pack_body(body)
    assert packed.compressed.startswith(ZSTD_MAGIC) and len(packed.compressed) < len(body) / 5
    assert unpack_body(packed.compressed) == body
    assert unpack_body(zlib.compress(body, 6)) == body
