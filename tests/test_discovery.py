from __future__ import annotations

import pytest

from crawler.links.discovery import feed_links, looks_like_feed, robots_sitemaps, sitemap_entries

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>t</title>
<item><title>a</title><link>http://site/a.html</link></item>
<item><title>b</title><guid>http://site/b.html</guid></item>
<item><title>c</title><link> /c.html </link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><link rel="alternate" href="http://site/x"/><link rel="enclosure" href="http://site/x.mp3"/></entry>
</feed>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<rss><channel><item><link>http://site/&lol3;</link></item></channel></rss>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<rss><channel><item><link>http://site/&x;</link></item></channel></rss>"""


def test_rss_links_in_order() -> None:
    assert feed_links(RSS, "http://site/feed") == [
        "http://site/a.html", "http://site/b.html", "http://site/c.html"]
    assert looks_like_feed(RSS)


def test_atom_alternate_link() -> None:
    assert feed_links(ATOM, "http://site/") == ["http://site/x"]


def test_entities_are_not_expanded() -> None:
    for body in (BILLION_LAUGHS, XXE):
        links = feed_links(body, "http://site/")
        assert all("lollol" not in u and "root:" not in u for u in links)


def test_broken_xml_gives_nothing() -> None:
    assert feed_links(b"<html><body>not a feed", "http://site/") == []
    assert sitemap_entries(b"\x00\x01garbage", "http://site/") == ("", [])


def test_sitemap_and_index() -> None:
    urlset = b"""<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <url><loc>http://site/p1</loc></url><url><loc>http://site/p2</loc></url></urlset>"""
    index = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
    <sitemap><loc>http://site/sm1.xml</loc></sitemap></sitemapindex>"""
    assert sitemap_entries(urlset, "http://site/") == ("urlset", ["http://site/p1", "http://site/p2"])
    assert sitemap_entries(index, "http://site/") == ("sitemapindex", ["http://site/sm1.xml"])


def test_robots_sitemap_lines() -> None:
    text = "User-agent: *\nDisallow: /private/\nSitemap: http://site/sitemap.xml\nsitemap:/other.xml\n"
    assert robots_sitemaps(text, "http://site/robots.txt") == [
        "http://site/sitemap.xml", "http://site/other.xml"]


@pytest.mark.parametrize("parser", ["ProtegoRobotParser", "PythonRobotParser"])
def test_sitemaps_read_from_the_robots_parser_scrapy_obeys(parser: str) -> None:
    """The spider takes Sitemap: lines from Scrapy's own parse, not a second download."""
    import scrapy.robotstxt
    from scrapy.utils.test import get_crawler

    from crawler.spiders.seeds import robots_sitemap_urls

    body = b"User-agent: *\nDisallow: /private/\nSitemap: http://site/sitemap.xml\n"
    robots = getattr(scrapy.robotstxt, parser).from_crawler(get_crawler(), body)
    assert robots_sitemap_urls(robots, "http://site/robots.txt") == ["http://site/sitemap.xml"]
    empty = getattr(scrapy.robotstxt, parser).from_crawler(get_crawler(), b"User-agent: *\n")
    assert robots_sitemap_urls(empty, "http://site/robots.txt") == []
