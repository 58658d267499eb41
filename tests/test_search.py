"""Full-text search: the Chinese transform, the query parser, ranking, snippets, index sync."""

from __future__ import annotations

import random
import re
import sqlite3
from dataclasses import replace

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from crawler.errors import QueryError, UsageError
from storage.archive import record_fetch
from storage.article_edits import delete_article, update_article
from storage.engine import make_engine
from storage.migrate import alembic_config, upgrade
from storage.models import Article, Sighting
from storage.records import ArticleFilter, parse_day
from storage.search import fts_text as fts_text_module
from storage.search import ranked
from storage.search.fts_text import bigrams, fts_text, fts_text_mapped, search_text
from storage.search.index import FTS_TOKENIZER, index_drift, is_postgres, rebuild_index
from storage.search.query import ParsedQuery, parse_query
from storage.search.ranked import count_matches, ranked_ids_query, search_articles
from storage.show import article_detail
from storage.stats import archive_stats
from tests.search_corpus import BY_KEY, DOCS, Doc, article_for, fetch_for, keys_for, store


@pytest.fixture
def corpus(session: Session) -> dict[str, int]:
    return store(session)


def found(session: Session, ids: dict[str, int], query: str,
          filters: ArticleFilter | None = None) -> set[str]:
    return keys_for(ids, [hit.record["id"] for hit in search_articles(session, query, filters,
                                                                       limit=100)])


# --- the text transform ------------------------------------------------------------------

@pytest.mark.parametrize("run, expected", [
    ("中", "中"),
    ("中亚", "中亚"),
    ("中吉乌铁路", "中吉 吉乌 乌铁 铁路"),
])
def test_bigrams(run: str, expected: str) -> None:
    assert bigrams(run) == expected


@pytest.mark.parametrize("value, tokens", [
    ("中吉乌铁路", ["中吉", "吉乌", "乌铁", "铁路"]),
    ("C919客机 ok", ["C919", "客机", "ok"]),
    ("中国—中亚峰会", ["中国", "—", "中亚", "亚峰", "峰会"]),
    ("Ёлка", ["Елка"]),
    ("plain English", ["plain", "English"]),
    ("中亞鐵路，後來", ["中亚", "亚铁", "铁路", "，", "后来"]),
])
def test_fts_text_splits_han_runs(value: str, tokens: list[str]) -> None:
    assert fts_text(value).split() == tokens


@pytest.mark.parametrize("value", [
    "", "中", "abc", "在中吉乌铁路上 railway 铁路。Ёж\x01\x02", "𠀀𠀁 ext-B", "a 中 b 中亚 c",
    "中吉烏鐵路與中亞 railway 發展",
])
def test_mapped_transform_agrees_and_maps_back(value: str) -> None:
    assert_maps_back(value)


def test_mapped_transform_on_random_mixtures() -> None:
    rng = random.Random(3)
    alphabet = list("ab 中吉乌铁路鐵亞，。Ёx-")
    for _ in range(2000):
        assert_maps_back("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))))


@pytest.mark.parametrize("value, expected", [
    ("Tashkent<Samarkand rail> covid-19", "Tashkent Samarkand rail covid 19"),
    ("3.5 bn, info@rail.uz http://x.org/a_b", "3 5 bn info rail uz http x org a b"),
    ("中吉乌铁路。Ёж", "中吉 吉乌 乌铁 铁路 Еж"),
    ("Türkmenistan, Şavkat Mirziyoyev, Oʻzbekiston, café",
     "Turkmenistan savkat Mirziyoyev Oʻzbekiston cafe"),
])
def test_search_text_is_the_fts5_tokens(value: str, expected: str) -> None:
    assert search_text(value) == expected


def assert_maps_back(value: str) -> None:
    mapped = fts_text_mapped(value)
    assert mapped.text == fts_text(value)
    for token in re.finditer(r"\S+", mapped.text):
        start, end = mapped.original_span(token.start(), token.end())
        assert fts_text(value[start:end]).strip() == token.group()


# --- the query parser --------------------------------------------------------------------

@pytest.mark.parametrize("query, expected", [
    ("pipeline", '"pipeline"'),
    ("gas pipeline", '("gas" AND "pipeline")'),
    ('"gas pipeline"', '"gas pipeline"'),
    ("pipe*", '"pipe" *'),
    ("中亚", '"中亚"'),
    ("中吉乌铁路", '"中吉 吉乌 乌铁 铁路"'),
    ("中", '"中" *'),
    ("a OR b NOT c", '("a" OR ("b" NOT "c"))'),
    ("China AND NOT Kazakhstan", '("China" NOT "Kazakhstan")'),
    ("NOT Russia pipeline", '("pipeline" NOT "Russia")'),
    ("a NOT b c", '(("a" AND "c") NOT "b")'),
    ("a AND NOT b AND NOT c", '(("a" NOT "b") NOT "c")'),
    ("(railway OR 铁路) Khorgos", '(("railway" OR "铁路") AND "Khorgos")'),
    ("pipeline AND gas", '("pipeline" AND "gas")'),
    ("and or not", '("and" AND "or" AND "not")'),
    ("pipeline NOT &", '"pipeline"'),
    ("NEAR(a b)", '("NEAR" AND ("a" AND "b"))'),
    ("title:gas", '"title:gas"'),
    ("x'; DROP TABLE articles; --", '("x\';" AND "DROP" AND "TABLE" AND "articles;")'),
])
def test_parse_query(query: str, expected: str) -> None:
    assert parse_query(query).fts == expected


@pytest.mark.parametrize("query, expected", [
    ("pipeline", "'pipeline'"),
    ("gas pipeline", "('gas' & 'pipeline')"),
    ('"gas pipeline"', "('gas' <-> 'pipeline')"),
    ('"gas pipe"*', "('gas' <-> 'pipe':*)"),
    ("pipe*", "'pipe':*"),
    ("中吉乌铁路", "('中吉' <-> '吉乌' <-> '乌铁' <-> '铁路')"),
    ("中", "'中':*"),
    ("газопроводом", "'газопровод':*"),
    ("a OR b NOT c", "('a' | ('b' & !'c'))"),
    ("China AND NOT Kazakhstan", "('China' & !'Kazakhstan')"),
    ("NOT oil (gas OR water)", "(('gas' | 'water') & !'oil')"),
    ("pipeline NOT (oil OR gas)", "('pipeline' & !('oil' | 'gas'))"),
    ("(railway OR 铁路) Khorgos", "(('railway' | '铁路') & 'Khorgos')"),
    ("title:gas", "('title' <-> 'gas')"),
    ("x'; DROP TABLE articles; --", "('x' & 'DROP' & 'TABLE' & 'articles')"),
    ("'!' & | <-> :*", None),
])
def test_parse_query_for_postgresql(query: str, expected: str | None) -> None:
    if expected is None:
        with pytest.raises(QueryError, match="nothing to search for"):
            parse_query(query)
    else:
        assert parse_query(query).tsquery == expected


@pytest.mark.parametrize("query, message", [
    ('"unclosed', "unbalanced quote"),
    ("", "empty query"),
    ("   ", "empty query"),
    ("AND", "AND needs a term before it"),
    ("pipeline AND", "AND needs a term after it"),
    ("OR gas", "OR needs a term before it"),
    ("NOT oil", "NOT needs something to search for beside it"),
    ("gas OR NOT oil", "NOT needs something to search for beside it"),
    ("gas (NOT oil)", "NOT needs something to search for beside it"),
    ("gas AND NOT", "NOT needs a term after it"),
    ("gas AND NOT NOT oil", "NOT needs a term after it"),
    ("gas OR OR oil", "OR needs a term after it"),
    ("(pipeline", "never closed"),
    ("pipeline)", "no matching ("),
    ("()", "empty parentheses"),
    ("*", "lone *"),
    ("& |", "nothing to search for"),
    ("& NOT oil", "NOT needs something to search for"),
    ("(" * 40 + "a" + ")" * 40, "nested too deep"),
    (" ".join(["w"] * 100), "too many terms"),
])
def test_malformed_queries_explain_in_one_line(query: str, message: str) -> None:
    with pytest.raises(QueryError, match=re.escape(message)) as info:
        parse_query(query)
    assert "\n" not in str(info.value)


SOUP = ['"', "(", ")", "*", "AND", "OR", "NOT", "gas", "中亚", "中", "-", "&", "NEAR",
        "^", ":", "газ", "x*", "'", "!", "|", "<->", ":*", "\\", "the"]


def soup_queries(count: int) -> list[ParsedQuery]:
    """Random soup of both engines' operators, quotes and terms, as far as it parses."""
    rng = random.Random(7)
    parsed = []
    for _ in range(count):
        query = "".join(rng.choice(SOUP) + rng.choice(["", " "])
                        for _ in range(rng.randint(1, 8)))
        try:
            parsed.append(parse_query(query))
        except QueryError:
            continue
    return parsed


def test_every_parsed_query_is_valid_fts5() -> None:
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(title, body, content='', "
               f"tokenize='{FTS_TOKENIZER}')")
    parsed = soup_queries(3000)
    for query in parsed:
        db.execute("SELECT rowid FROM t WHERE t MATCH ?", (query.fts,)).fetchall()
    assert len(parsed) > 500


def test_every_parsed_query_runs(session: Session, corpus: dict[str, int]) -> None:
    """The soup through the real search on each backend: PostgreSQL reads the tsquery."""
    parsed = soup_queries(600)
    for query in parsed:
        count_matches(session, query)
    assert len(parsed) > 100 and session.execute(text("SELECT 1")).scalar_one() == 1


# --- searching ---------------------------------------------------------------------------

ZH_ABOUT_CENTRAL_ASIA = {d.key for d in DOCS if d.language == "zh" and "中亚" in d.title + d.text}


@pytest.mark.parametrize("query, expected", [
    ("中亚", ZH_ABOUT_CENTRAL_ASIA),
    ("铁路", {"cku-rail"}),
    ("中吉乌铁路", {"cku-rail"}),
    ("吉乌铁", {"cku-rail"}),
    ("乌兹别克斯坦", {"cku-rail"}),
    ("天然气管道", {"aiib"}),
    ("亚洲", {"aiib"}),
    ("railway", {"kz-rail"}),
    ("RAILWAYS", {"kz-rail"}),
    ("Railway", {"kz-rail"}),
    ("газопровод", {"ru-gas"}),
    ("ГАЗОПРОВОД", {"ru-gas"}),
    ("четвертой", {"ru-gas"}),
    ("Хоргос", {"ru-rail"}),
    ("Хоргос OR Khorgos", {"ru-rail", "kz-rail"}),
    ("pipeline", {"tm-gas", "uz-water"}),
    ("pipe*", {"tm-gas", "uz-water"}),
    ("газопровод*", {"ru-gas"}),
    # Russian word forms: a query word finds its other cases and numbers.
    ("газопроводом", {"ru-gas"}),
    ("газопроводы", {"ru-gas"}),
    ("Китаем", {"ru-gas", "ru-rail"}),
    ("маршрута", {"ru-rail"}),
    ('"gas pipeline"', {"tm-gas"}),
    ("gas pipeline", {"tm-gas", "uz-water"}),
    ('"Central Asia–China gas"', {"tm-gas"}),
    ("pipeline NOT Turkmenistan", {"uz-water"}),
    ("pipeline AND NOT Turkmenistan", {"uz-water"}),
    ("NOT Turkmenistan pipeline", {"uz-water"}),
    ("China AND NOT Kazakhstan", {"tm-gas"}),
    ("(railway OR 铁路) NOT Khorgos", {"cku-rail"}),
    ("Ashgabat AND (painters OR pipeline)", {"tm-gas", "tm-culture"}),
    ("kazakh*", {"kz-rail"}),
    ("nothingmatchesthis", set()),
])
def test_search_finds(session: Session, corpus: dict[str, int], query: str,
                      expected: set[str]) -> None:
    assert found(session, corpus, query) == expected


TRADITIONAL = Doc("tw-rail", "zh-Hant", "中吉烏鐵路動工",
                  "中吉烏鐵路今年夏天動工，將連接中亞國家。", ("CN", "KG", "UZ"), ("transport",),
                  "絲路觀察", "2025-07-02")


@pytest.mark.parametrize("query, expected", [
    ("铁路", {"cku-rail", "tw-rail"}),
    ("鐵路", {"cku-rail", "tw-rail"}),
    ("中亚", ZH_ABOUT_CENTRAL_ASIA | {"tw-rail"}),
    ("中亞", ZH_ABOUT_CENTRAL_ASIA | {"tw-rail"}),
    ('"中吉烏鐵路" NOT 動工', {"cku-rail"}),
    ("中吉乌铁路 NOT 开工", {"tw-rail"}),  # 動工 is 动工, not 开工
])
def test_traditional_and_simplified_find_each_other(session: Session, query: str,
                                                    expected: set[str]) -> None:
    ids = store(session, (*DOCS, TRADITIONAL))
    assert found(session, ids, query) == expected


def test_snippets_of_traditional_text_show_the_original(session: Session) -> None:
    ids = store(session, (*DOCS, TRADITIONAL))
    [hit] = [h for h in search_articles(session, "铁路") if h.record["id"] == ids["tw-rail"]]
    assert hit.title.marked() == "中吉烏**鐵路**動工"
    assert "中吉烏**鐵路**今年夏天" in hit.snippet.marked()
    assert hit.record["text"] == TRADITIONAL.text


def test_two_han_characters_never_match_across_a_gap(session: Session,
                                                     corpus: dict[str, int]) -> None:
    # "中国和哈萨克斯坦" and "亚洲" are in the same article: 中 and 亚, never 中亚.
    assert "中亚" not in BY_KEY["aiib"].text and "aiib" not in found(session, corpus, "中亚")


@pytest.mark.parametrize("query, filters, expected", [
    ("pipeline", ArticleFilter(country="TM"), {"tm-gas"}),
    ("pipeline", ArticleFilter(country="tm"), {"tm-gas"}),
    ("Ashgabat", ArticleFilter(country="TM"), {"tm-gas", "tm-culture"}),
    ("Ashgabat", ArticleFilter(theme="culture"), {"tm-culture"}),
    ("中亚", ArticleFilter(language="zh"), ZH_ABOUT_CENTRAL_ASIA),
    ("中亚", ArticleFilter(language="en"), set()),
    ("Khorgos OR Хоргос", ArticleFilter(language="ru"), {"ru-rail"}),
    ("Khorgos OR Хоргос", ArticleFilter(source="Steppe Wire"), {"kz-rail"}),
    ("pipeline OR 铁路", ArticleFilter(since=parse_day("2025-06-01")), {"uz-water", "cku-rail"}),
    ("pipeline OR 铁路", ArticleFilter(until=parse_day("2025-06-01")), {"tm-gas"}),
])
def test_search_filters(session: Session, corpus: dict[str, int], query: str,
                        filters: ArticleFilter, expected: set[str]) -> None:
    assert found(session, corpus, query, filters) == expected


def test_title_match_outranks_body_match(session: Session) -> None:
    filler = "Freight volumes were discussed at length by officials. " * 3
    docs = (
        Doc("in-body", "en", "Trade talks in Astana", filler + "A corridor was named.",
            ("KZ",), (), "Steppe Wire", "2025-01-01"),
        Doc("in-title", "en", "Corridor plans advance", filler + "Ministers met again.",
            ("KZ",), (), "Steppe Wire", "2025-01-01"),
    )
    ids = store(session, docs)
    hits = search_articles(session, "corridor")
    assert [hit.record["id"] for hit in hits] == [ids["in-title"], ids["in-body"]]
    assert hits[0].score > hits[1].score > 0


def test_postgresql_ranks_the_newest_candidates_else_every_match(
        session: Session, corpus: dict[str, int], monkeypatch: pytest.MonkeyPatch) -> None:
    """With two candidates: the newest two that the index alone picks (phrases as AND,
    NOT dropped), unless fewer hits than wanted come out of them."""
    monkeypatch.setattr(ranked, "PG_RANK_CANDIDATES", 2)
    query = parse_query("pipeline OR Ashgabat OR railway")
    dialect = session.get_bind().dialect.name
    bounded = {row[0] for row in session.execute(ranked_ids_query(query, None, dialect))}
    every = {corpus[key] for key in ("tm-gas", "uz-water", "tm-culture", "kz-rail")}
    assert bounded == (set(sorted(every)[-2:]) if dialect == "postgresql" else every)
    assert len(search_articles(session, "pipeline OR Ashgabat OR railway", limit=2)) == 2


def test_a_match_older_than_the_candidates_is_still_found(
        session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two newest articles with both words hold neither the phrase nor the NOT's
    left side alone: every match is ranked instead of none."""
    monkeypatch.setattr(ranked, "PG_RANK_CANDIDATES", 2)
    docs = tuple(Doc(key, "en", key, text_, ("TM",), (), "S", "2025-01-01") for key, text_ in (
        ("phrase", "The gas pipeline opened."),
        ("apart-1", "A pipeline for water, not gas, and oil."),
        ("apart-2", "Gas flows by truck; the pipeline waits for oil."),
    ))
    ids = store(session, docs)
    assert found(session, ids, '"gas pipeline"') == {"phrase"}
    assert found(session, ids, "pipeline NOT oil") == {"phrase"}


def test_limit_keeps_the_best(session: Session, corpus: dict[str, int]) -> None:
    everything = search_articles(session, "Ashgabat OR 中亚 OR railway", limit=100)
    top = search_articles(session, "Ashgabat OR 中亚 OR railway", limit=2)
    assert [h.record["id"] for h in top] == [h.record["id"] for h in everything[:2]]
    assert [h.score for h in everything] == sorted((h.score for h in everything), reverse=True)


@pytest.mark.parametrize("query, key, marked", [
    ("中吉乌铁路", "cku-rail", "**中吉乌铁路**在今年夏天"),
    ("铁路", "cku-rail", "这条**铁路**将"),
    ("railway", "kz-rail", "**Railways** now move"),
    ('"gas pipeline"', "tm-gas", "China **gas pipeline** will"),
    ("kazakh*", "kz-rail", "through **Kazakh** territory"),
    ("ЧЕТВЕРТОЙ", "ru-gas", "Строительство **четвёртой** нитки"),
])
def test_snippets_mark_matches_in_the_original_text(session: Session, corpus: dict[str, int],
                                                    query: str, key: str, marked: str) -> None:
    [hit] = [h for h in search_articles(session, query) if h.record["id"] == corpus[key]]
    assert marked in hit.snippet.marked()
    assert "吉乌 乌铁" not in hit.snippet.plain


def test_title_is_highlighted(session: Session, corpus: dict[str, int]) -> None:
    [hit] = search_articles(session, "峰会")
    assert hit.title.marked() == "第二届中国—中亚**峰会**在阿斯塔纳闭幕"


def test_a_huge_article_is_indexed_and_found(session: Session) -> None:
    """200,000 distinct-looking Han characters: far past a tsvector's 1 MB as bigrams."""
    rng = random.Random(5)
    text_ = "".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(200_000))
    ids = store(session, (Doc("huge", "zh", "巨文", text_, ("CN",), (), "S", "2025-01-01"),))
    [hit] = search_articles(session, text_[:6])
    assert hit.record["id"] == ids["huge"] and hit.snippet.marked().startswith("**")


def test_snippet_of_a_long_text_is_a_window_around_the_match(session: Session) -> None:
    text = "Nothing to see here. " * 60 + "The Kambarata dam finally got funding. " + \
        "More filler text follows. " * 60
    ids = store(session, (Doc("long", "en", "Hydropower", text, ("KG",), (), "S", "2025-01-01"),))
    [hit] = search_articles(session, "Kambarata")
    assert hit.record["id"] == ids["long"]
    snippet = hit.snippet.marked()
    assert snippet.startswith("…") and snippet.endswith("…")
    assert "**Kambarata**" in snippet and len(hit.snippet.plain) <= 220


def test_search_results_carry_the_export_record(session: Session,
                                                corpus: dict[str, int]) -> None:
    [hit] = search_articles(session, "中吉乌铁路")
    record = hit.as_record()
    doc = BY_KEY["cku-rail"]
    assert record["title"] == doc.title and record["text"] == doc.text
    assert record["countries"] == list(doc.countries) and record["source"] == doc.source
    assert record["urls"] == [doc.url] and record["score"] == hit.score
    assert "**中吉乌铁路**" in record["snippet"]


def test_malformed_query_raises_query_error(session: Session, corpus: dict[str, int]) -> None:
    with pytest.raises(QueryError):
        search_articles(session, '"unclosed')


def test_a_query_the_engine_rejects_is_a_query_error(session: Session,
                                                      corpus: dict[str, int]) -> None:
    broken = ParsedQuery("gas AND", fts='"gas" AND', terms=("gas",), tsquery="'gas' &")
    with pytest.raises(QueryError, match="cannot run this query") as info:
        search_articles(session, broken)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("query", ["Samarkand", "covid-19", "3.5", "info@rail.uz",
                                   '"rail link"', "x.org", "link*", "Turkmenistan",
                                   "türkmenistan", "ŞAVKAT", "savkat"])
def test_both_engines_find_the_same_tokens(session: Session, query: str) -> None:
    """PostgreSQL's parser alone would drop <...> as a tag, read -19, 3.5 and addresses
    whole, and keep accents that FTS5 folds."""
    text_ = ("Tashkent<Samarkand rail link> costs 3.5 bn; covid-19 rules at info@rail.uz, "
             "x.org; Türkmenistan and Şavkat")
    ids = store(session, (Doc("odd", "en", "Tokens", text_, ("UZ",), (), "S", "2025-01-01"),))
    assert [hit.record["id"] for hit in search_articles(session, query)] == [ids["odd"]]


# --- keeping the index in sync ------------------------------------------------------------

def vocabulary(session: Session) -> list[tuple[object, ...]]:
    """What the index holds: FTS5's terms with their document and occurrence counts,
    or PostgreSQL's tsvector of each article."""
    if is_postgres(session):
        return [tuple(row) for row in session.execute(text(
            "SELECT article_id, document::text FROM article_search ORDER BY article_id"))]
    session.execute(text(
        "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_vocab USING fts5vocab(main, articles_fts, row)"
    ))
    return [tuple(row) for row in session.execute(
        text("SELECT term, doc, cnt FROM temp.fts_vocab ORDER BY term"))]


def brute_force(session: Session, needle: str) -> set[int]:
    """Articles whose stored title or text contain ``needle`` (Chinese: plain substring)."""
    return {a.id for a in session.scalars(select(Article)) if needle in (a.title or "") + a.text}


PROBES = ("中亚", "铁路", "峰会", "哈萨克斯坦", "Ashgabat", "Хоргос", "Khorgos", "Kambarata",
          "走廊")


def assert_index_matches_articles(session: Session) -> None:
    assert index_drift(session).clean
    for probe in PROBES:
        hits = {hit.record["id"] for hit in search_articles(session, probe, limit=1000)}
        assert hits == brute_force(session, probe), probe
    # The strongest check: the live index holds exactly what a fresh rebuild would.
    live = vocabulary(session)
    rebuild_index(session)
    assert vocabulary(session) == live


def test_index_follows_updates_and_deletes(session: Session, corpus: dict[str, int]) -> None:
    assert_index_matches_articles(session)
    session.commit()
    with session.begin():
        update_article(session, corpus["summit"], title="中亚峰会闭幕",
                       text="各国领导人在阿斯塔纳讨论了走廊建设。")  # 中亚 only in the title now
        update_article(session, corpus["kz-rail"], title="Kambarata dam funding agreed")
        update_article(session, corpus["tm-gas"], relevance=0.1, themes=["energy", "trade"])
        update_article(session, corpus["ru-rail"], title=BY_KEY["ru-rail"].title)  # unchanged
        delete_article(session, corpus["cku-rail"])
        delete_article(session, corpus["tm-culture"])
    assert set(found(session, corpus, "中亚")) == {"summit"}
    assert found(session, corpus, "走廊") == {"summit"}
    assert found(session, corpus, "Kambarata") == {"kz-rail"}
    assert found(session, corpus, "铁路") == set()
    assert found(session, corpus, "Ashgabat") == {"tm-gas"}
    assert session.scalar(select(Sighting).where(Sighting.article_id == corpus["cku-rail"])) \
        is None
    assert_index_matches_articles(session)


def test_random_edits_never_let_the_index_drift(session: Session,
                                                corpus: dict[str, int]) -> None:
    rng = random.Random(11)
    texts = [d.text for d in DOCS] + ["走廊与铁路", "Khorgos dry port", "中亚 Kambarata"]
    titles = [d.title for d in DOCS] + [None, "Хоргос", "峰会"]
    alive = list(corpus.values())
    with session.begin():
        for _ in range(25):
            article_id = rng.choice(alive)
            if rng.random() < 0.15 and len(alive) > 3:
                delete_article(session, article_id)
                alive.remove(article_id)
            else:
                update_article(session, article_id, title=rng.choice(titles),
                               text=rng.choice(texts) + f" edit{rng.randint(0, 9)}")
        assert_index_matches_articles(session)


def test_deleting_an_article_releases_its_near_duplicates(session: Session,
                                                          corpus: dict[str, int]) -> None:
    with session.begin():
        update_article(session, corpus["aiib"], duplicate_of=corpus["summit"])
        delete_article(session, corpus["summit"])
    assert session.get(Article, corpus["aiib"]).duplicate_of is None  # type: ignore[union-attr]


@pytest.mark.parametrize("call, message", [
    (lambda s: update_article(s, 999_999, title="x"), "no article with id 999999"),
    (lambda s: delete_article(s, 999_999), "no article with id 999999"),
    (lambda s: update_article(s, 1, colour="red"), "colour"),
    (lambda s: update_article(s, 1, id=5), "id"),
])
def test_edit_mistakes_are_usage_errors(session: Session, corpus: dict[str, int], call,  # type: ignore[no-untyped-def]
                                        message: str) -> None:
    with session.begin(), pytest.raises(UsageError, match=message):
        call(session)


def test_migration_back_fills_an_existing_archive(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine, "0001")
    with engine.begin() as conn:
        for n, doc in enumerate(DOCS):
            conn.execute(text(
                "INSERT INTO articles (content_hash, url, title, text, relevance, countries, "
                "themes, first_seen_at, last_seen_at) VALUES (:hash, :url, :title, :text, 0.5, "
                "'[]', '[]', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ), {"hash": f"h{n}", "url": doc.url, "title": doc.title, "text": doc.text})
    upgrade(engine)
    with Session(engine) as session:
        ids = {doc.key: n + 1 for n, doc in enumerate(DOCS)}
        assert found(session, ids, "中亚") == ZH_ABOUT_CENTRAL_ASIA
        assert found(session, ids, "railway") == {"kz-rail"}
        assert index_drift(session).clean
    engine.dispose()


def test_upgrade_rebuilds_an_index_made_before_folding(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Revision 0009 rebuilds the index that an older silkroad filled without folding
    Traditional characters."""
    engine = make_engine(db_url)
    with monkeypatch.context() as old_silkroad:
        old_silkroad.setattr(fts_text_module, "to_simplified", lambda value: value)
        upgrade(engine, "0008")
        with Session(engine) as session:
            ids = store(session, (*DOCS, TRADITIONAL))
    with Session(engine) as session:
        assert found(session, ids, "中亚") == ZH_ABOUT_CENTRAL_ASIA  # 中亞 is not in the index
    upgrade(engine)
    with Session(engine) as session:
        assert found(session, ids, "中亚") == ZH_ABOUT_CENTRAL_ASIA | {"tw-rail"}
        assert found(session, ids, "鐵路") == {"cku-rail", "tw-rail"}
        assert index_drift(session).clean
    engine.dispose()


def test_downgrade_drops_the_index(engine: Engine) -> None:
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0001")
    names = set(inspect(engine).get_table_names())
    assert "articles" in names
    assert not any(name.startswith(("articles_fts", "article_search")) for name in names)


# --- show and stats ----------------------------------------------------------------------

def test_show_lists_sightings_and_snapshots(session: Session, corpus: dict[str, int]) -> None:
    doc = BY_KEY["tm-gas"]
    with session.begin():
        record_fetch(session, fetch_for(doc, "http://mirror.test/copy", "2026-01-06T09:00:00"),
                     article_for(doc), run_id=None, outcome="article")
    detail = article_detail(session, corpus["tm-gas"])
    assert detail.record["title"] == doc.title
    assert [s.url for s in detail.sightings] == [doc.url, "http://mirror.test/copy"]
    first, second = detail.sightings
    assert first.first_run_id is not None and second.first_seen == "2026-01-06T09:00:00Z"
    [snapshot] = first.snapshots
    assert snapshot.recorded and snapshot.status == 200 and snapshot.size > len(doc.text)
    as_dict = detail.as_dict()
    assert as_dict["sightings"][1]["snapshots"][0]["recorded"] is True
    assert as_dict["site_name"] == doc.source


@pytest.mark.parametrize("source, site_name, site", [
    (None, "127.0.0.1:8080", "127.0.0.1"),  # trafilatura's fallback in an older archive
    (None, "Valley Courier", "Valley Courier"),
    ("Steppe Wire", "127.0.0.1:8080", "Steppe Wire"),
    ("Steppe Wire", "Valley Courier", "Steppe Wire"),
])
def test_site_is_the_source_else_the_declared_name_else_the_host(
        session: Session, source: str | None, site_name: str, site: str) -> None:
    doc = replace(BY_KEY["kz-rail"], source=source or "")
    url = "http://127.0.0.1:8080/news/kz-rail"
    with session.begin():
        stored = record_fetch(session, replace(fetch_for(doc, url), source=source),
                              replace(article_for(doc), site_name=site_name),
                              run_id=None, outcome="article")
    detail = article_detail(session, stored.article_id)  # type: ignore[arg-type]
    assert detail.as_dict()["site"] == site
    assert detail.as_dict()["site_name"] == (None if ":" in site_name else site_name)
    [hit] = search_articles(session, "Khorgos")
    assert hit.site == site and "site" not in hit.as_record()


def test_show_unknown_id(session: Session, corpus: dict[str, int]) -> None:
    with pytest.raises(UsageError, match="no article with id 424242"):
        article_detail(session, 424242)


def test_stats_counts(db_url: str, session: Session, corpus: dict[str, int]) -> None:
    stats = archive_stats(session)
    assert stats.totals["articles"] == len(DOCS) == stats.totals["sightings"]
    assert stats.totals["snapshots"] == len(DOCS) and stats.totals["sources"] == 4
    assert dict(stats.by_language) == {"en": 4, "zh": 3, "ru": 2}
    assert dict(stats.by_country)["TM"] == sum("TM" in d.countries for d in DOCS) == 4
    assert dict(stats.by_theme)["energy"] == 4
    assert dict(stats.by_source)["丝路观察"] == 3
    assert stats.by_month[0] == ("2024-11", 1) and dict(stats.by_month)["2025-06"] == 3
    assert stats.database_bytes and stats.database_bytes > 0
    assert stats.file_bytes == (stats.database_bytes if db_url.startswith("sqlite") else None)
