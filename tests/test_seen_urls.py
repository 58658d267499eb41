"""A crawl process's bounded memory of URLs: new once, and forgotten all at once when full."""

from crawler.links.seen_urls import SeenUrls


def test_a_url_is_new_once_until_the_memory_is_full() -> None:
    seen = SeenUrls(limit=3)
    assert [seen.first(u) for u in ("a", "b", "a", "c")] == [True, True, False, True]
    assert len(seen) == 3 and "a" in seen
    assert seen.first("d")  # full: everything before is forgotten
    assert len(seen) == 1 and "a" not in seen
    assert seen.first("a")
