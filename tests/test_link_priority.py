from __future__ import annotations

import pytest

from crawler.analysis.topic import TopicProfile
from crawler.links.link_priority import MAX_PRIORITY, MIN_PRIORITY, link_priority


@pytest.fixture(scope="module")
def profile() -> TopicProfile:
    return TopicProfile.load()


ARTICLE = "https://news.example.com/2025/06/19/some-story-about-things/"

# (higher, lower): each pair is (url, anchor) and the first must be crawled first.
ORDERINGS = [
    # Topic words in the anchor: both sides > one side > none.
    ((ARTICLE, "China and Kazakhstan sign new gas deal"), (ARTICLE, "China's economy slows")),
    ((ARTICLE, "China's economy slows"), (ARTICLE, "Local elections in Ohio")),
    ((ARTICLE, "中哈两国签署天然气合作协议"), (ARTICLE, "国内油价上调")),
    ((ARTICLE, "Китай и Узбекистан подписали соглашение"), (ARTICLE, "Погода на выходные")),
    ((ARTICLE, "Kazakh, Chinese officials meet"), (ARTICLE, "Kazakh officials meet")),
    # Topic words in the URL slug count when the anchor says nothing.
    (("https://example.com/2025/06/19/china-kyrgyzstan-railway-deal/", "Read more"),
     ("https://example.com/2025/06/19/ohio-county-fair-opens/", "Read more")),
    # An article link that promises the topic beats a section front; a section front beats
    # an article link that promises nothing (it is where on-topic links turn up).
    (("https://example.com/2025/06/19/china-central-asia-summit/", "Summit"),
     ("https://example.com/tag/summit/", "Summit")),
    (("https://example.com/category/world/", "Latest"),
     ("http://www.news.cn/world/20250619/abc/c.html", "Latest")),
    (("https://www.kommersant.ru/rubric/3", "Новости"),
     ("https://www.kommersant.ru/doc/7654321", "Новости")),
    (("http://world.people.com.cn/n1/2025/0619/c1002-40500000.html", "中哈签署协议"),
     ("http://world.people.com.cn/index2.html", "要闻")),
    (("https://example.com/news/content_1234567.htm", "News"),
     ("https://example.com/news/?page=7", "News")),
    # Pagination is still worth more than calendar traps and utility pages, even on topic.
    (("https://example.com/news/page/3/", "3"),
     ("https://example.com/calendar?month=6&year=2025", "China and Kazakhstan in June")),
    (("https://example.com/news/page/3/", "3"),
     ("https://example.com/events/calendar?date=2025-06", "June")),
    (("https://example.com/archive?page=2", "Next"), ("https://example.com/login", "Sign in")),
    # Even an on-topic anchor cannot lift a file, a share button or a login form above an article.
    ((ARTICLE, "Weather"),
     ("https://example.com/files/china-kazakhstan-report.pdf", "China Kazakhstan report")),
    ((ARTICLE, "Weather"), ("https://example.com/share?url=x", "Share on China Kazakhstan")),
    # Gambling spam is pushed to the back.
    (("https://example.com/", "Home"),
     ("https://example.com/2025/06/19/casino/", "Best online casino bonus")),
]


@pytest.mark.parametrize("higher,lower", ORDERINGS, ids=[f"{h[1][:20]}>{lo[1][:20]}"
                                                        for h, lo in ORDERINGS])
def test_promising_links_come_first(profile: TopicProfile, higher: tuple[str, str],
                                    lower: tuple[str, str]) -> None:
    assert link_priority(*higher, profile) > link_priority(*lower, profile)


@pytest.mark.parametrize("url,anchor", [
    ("https://example.com/2025/06/19/china-kazakhstan-sign-gas-deal/",
     "China and Kazakhstan sign gas deal, pledge more pipeline capacity and trade"),
    ("mailto:editor@example.com", "Email us"),
    ("javascript:void(0)", ""),
    ("https://example.com/img/photo.jpg", "Photo"),
    ("", ""),
    ("not a url at all", "???"),
])
def test_priority_is_an_int_within_range(profile: TopicProfile, url: str, anchor: str) -> None:
    priority = link_priority(url, anchor, profile)
    assert isinstance(priority, int)
    assert MIN_PRIORITY <= priority <= MAX_PRIORITY


def test_best_link_reaches_the_top_of_the_range(profile: TopicProfile) -> None:
    priority = link_priority("https://example.com/2025/06/19/china-kazakhstan-gas-deal/",
                             "China and Kazakhstan sign gas pipeline and trade deal", profile)
    assert priority >= 25


@pytest.mark.parametrize("url", [
    "mailto:editor@example.com", "javascript:void(0)", "https://example.com/login",
    "https://example.com/wp-login.php", "https://example.com/print/12345",
    "https://example.com/video/clip.mp4", "https://example.com/static/app.js",
])
def test_non_article_links_get_the_floor(profile: TopicProfile, url: str) -> None:
    assert link_priority(url, "", profile) == MIN_PRIORITY


@pytest.mark.parametrize("url", [
    "https://example.com/china-share-of-kazakh-trade-rises",
    "https://example.com/2025/06/19/about-the-new-railway-to-tashkent/",
    "https://example.com/?p=12345",
])
def test_article_slugs_with_utility_words_are_not_utility_pages(profile: TopicProfile,
                                                                 url: str) -> None:
    assert link_priority(url, "", profile) >= 0


def test_anchor_and_url_are_both_read(profile: TopicProfile) -> None:
    neutral = link_priority("https://example.com/a/b", "Story", profile)
    by_anchor = link_priority("https://example.com/a/b", "Kazakhstan and China", profile)
    by_url = link_priority("https://example.com/kazakhstan-and-china", "Story", profile)
    assert by_anchor > neutral
    assert by_url > neutral
