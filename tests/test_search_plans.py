"""PostgreSQL search plans: documents are matched through the GIN index, never row by row.

Checking ``@@`` on a row reads that row's document from TOAST, which the planner
does not price; at 100,000 articles a plan that did it for one common word took
0.3-1.1 s against 30 ms (``tests/benchmarks/search_bench.py``). PostgreSQL only:
SQLite's FTS5 has no such choice to make.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from storage.engine import make_engine
from storage.migrate import upgrade
from storage.records import ArticleFilter
from storage.search import ranked
from storage.search.query import parse_query
from tests.search_corpus import store


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_session(pg_engine: Engine) -> Iterator[Session]:
    with Session(pg_engine) as session:
        store(session)
        session.flush()
        yield session


def plan(session: Session, statement: object) -> list[str]:
    """EXPLAIN of ``statement`` under the settings search runs it with."""
    sql = str(statement.compile(session.get_bind(),  # type: ignore[attr-defined]
                                compile_kwargs={"literal_binds": True}))
    return list(ranked._run(session, text("EXPLAIN " + sql.replace(":", r"\:"))).scalars())


@pytest.mark.parametrize("query", ["pipeline", "pipeline OR 铁路", "kazakh*"])
@pytest.mark.parametrize("filters", [None, ArticleFilter(country="TM"),
                                     ArticleFilter(language="en", since=None)])
@pytest.mark.parametrize("bounded", [True, False])
def test_documents_are_matched_through_the_gin_index(pg_session: Session, query: str,
                                                    filters: ArticleFilter | None,
                                                    bounded: bool) -> None:
    lines = plan(pg_session, ranked.ranked_ids_query(parse_query(query), filters,
                                                     "postgresql", bounded).limit(20))
    assert any("Bitmap Index Scan on ix_article_search_document" in line for line in lines)
    assert not [line for line in lines if "Filter:" in line and "@@" in line], lines
    assert not [line for line in lines if "Seq Scan" in line], lines


def test_a_phrase_reads_only_the_candidates_documents(pg_session: Session) -> None:
    lines = plan(pg_session, ranked.ranked_ids_query(parse_query('"gas pipeline"'),
                                                     ArticleFilter(country="TM"),
                                                     "postgresql").limit(20))
    checked = [line.strip() for line in lines if "Filter:" in line and "@@" in line]
    assert checked and all(line.startswith("Filter: (candidates.document @@") for line in checked)


def test_search_leaves_sequential_scans_to_the_next_statement(pg_session: Session) -> None:
    ranked.search_articles(pg_session, "pipeline")
    assert pg_session.execute(text("SHOW enable_seqscan")).scalar_one() == "on"

