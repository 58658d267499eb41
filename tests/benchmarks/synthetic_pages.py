"""Page templates for the synthetic webs: the chrome real news pages carry.

Extraction cost grows with the number of elements, not with the text, so a
benchmark page needs what makes real pages heavy: a mega menu, a ticker,
teaser cards with pictures, share bars and icons, a cookie banner, a link-farm
footer, JSON-LD, inline styles and scripts. About 2,000 elements and 100 KB
with the default weight, like the pages of the article-extraction benchmark.
"""

from __future__ import annotations

import html
import random
from dataclasses import dataclass, field

from tests.benchmarks.synthetic_text import SyntheticArticle

Link = tuple[str, str]  # href, label


@dataclass(frozen=True)
class Labels:
    """A site's interface words, in its language."""

    sections: tuple[str, ...]
    sub: str
    most_read: str
    related: str
    more: str
    share: str
    by: str
    tags: str
    subscribe: str
    advert: str
    also: str
    rights: str
    footer: tuple[str, ...]
    cookie: str
    accept: str
    refuse: str
    home: str


_LABELS: dict[str, Labels] = {
    "en": Labels(
        sections=("World", "Business", "Energy", "Transport", "Markets", "Opinion", "Sport",
                  "Technology", "Culture", "Weather"),
        sub="More in", most_read="Most read", related="Related stories",
        more="More from this section", share="Share this story", by="By", tags="Tags",
        subscribe="Get our morning briefing by e-mail", advert="Advertisement",
        also="Read also", rights="All rights reserved",
        footer=("About us", "Contact", "Advertise", "Careers", "Privacy policy",
                "Terms of use", "Cookie settings", "Archive", "RSS", "Newsletters"),
        cookie="We and our partners store and read cookies on your device to measure visits, "
               "remember your choices and show you adverts that fit. You can accept them all, "
               "refuse all but the necessary ones or pick partners one by one; you may change "
               "your mind at any time in the cookie settings.",
        accept="Accept all", refuse="Refuse", home="Home"),
    "zh": Labels(
        sections=("国际", "财经", "能源", "交通", "市场", "评论", "体育", "科技", "文化", "天气"),
        sub="更多", most_read="热门文章", related="相关报道", more="本栏目更多", share="分享",
        by="作者", tags="标签", subscribe="订阅我们的早间新闻", advert="广告", also="延伸阅读",
        rights="版权所有",
        footer=("关于我们", "联系我们", "广告服务", "加入我们", "隐私政策", "使用条款",
                "网站地图", "往期回顾", "订阅", "新闻邮件"),
        cookie="本网站及合作伙伴会在您的设备上存储和读取信息，用于统计访问量、记住您的偏好并"
               "展示相关广告。您可以全部接受、仅保留必要项，或逐一选择合作伙伴，也可以随时在"
               "设置中更改。",
        accept="全部接受", refuse="拒绝", home="首页"),
    "ru": Labels(
        sections=("В мире", "Экономика", "Энергетика", "Транспорт", "Рынки", "Мнения", "Спорт",
                  "Технологии", "Культура", "Погода"),
        sub="Ещё в разделе", most_read="Самое читаемое", related="По теме",
        more="Ещё в этом разделе", share="Поделиться", by="Автор:", tags="Теги",
        subscribe="Подпишитесь на утреннюю рассылку", advert="Реклама",
        also="Читайте также", rights="Все права защищены",
        footer=("О нас", "Контакты", "Реклама", "Вакансии", "Конфиденциальность", "Условия",
                "Настройки cookie", "Архив", "RSS", "Рассылки"),
        cookie="Мы и наши партнёры сохраняем и читаем файлы cookie на вашем устройстве, чтобы "
               "считать посещения, помнить ваш выбор и показывать подходящую рекламу. Можно "
               "принять всё, отказаться от необязательного или выбрать партнёров по одному; "
               "решение можно изменить в настройках.",
        accept="Принять все", refuse="Отказаться", home="Главная"),
}


@dataclass(frozen=True)
class Site:
    name: str
    host: str  # the public host it stands for
    language: str
    weight: int = 10  # chrome bulk: submenu entries, cards, footer links per column

    @property
    def labels(self) -> Labels:
        return _LABELS[self.language]


@dataclass(frozen=True)
class Chrome:
    """Where a page's chrome points: real pages on a synthetic web, anywhere on a lone page."""

    sections: list[str]  # one href per menu section
    cards: list[Link] = field(default_factory=list)  # teaser cards: (href, headline)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _icon(rng: random.Random) -> str:
    points = " ".join(f"{rng.randint(0, 24)}.{rng.randint(0, 99)}" for _ in range(36))
    return (f'<svg class="icon" viewBox="0 0 24 24" aria-hidden="true"><path d="M{points}Z">'
            f"</path></svg>")


def _style(rng: random.Random) -> str:
    rules = "".join(
        f".c{i}{{margin:{rng.randint(0, 24)}px;padding:{rng.randint(0, 16)}px;"
        f"color:#{rng.randrange(0x1000000):06x};font-size:{rng.randint(11, 22)}px}}"
        for i in range(60)
    )
    return f"<style>{rules}</style>"


def _config_script(rng: random.Random, size: int) -> str:
    parts, total = [], 0
    while total < size:
        chunk = (f'{{"slot":"ad-{rng.randrange(10**6)}","sizes":[[300,250],[728,90]],'
                 f'"targeting":{{"pos":"{rng.choice("abcdef")}","k":{rng.random():.6f}}}}},')
        parts.append(chunk)
        total += len(chunk)
    return "<script>window.__ADS__=[" + "".join(parts) + "{}];</script>"


def _head(site: Site, title: str, og_type: str, rng: random.Random, extra: str = "") -> str:
    scripts = "".join(f'<script src="/static/js/bundle-{i}.{rng.randrange(10**8):08x}.js" '
                      f"defer></script>" for i in range(6))
    return (
        f'<!DOCTYPE html>\n<html lang="{site.language}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)} | {_esc(site.name)}</title>\n"
        f'<meta property="og:type" content="{og_type}">\n'
        f'<meta property="og:title" content="{_esc(title)}">\n'
        f'<meta property="og:site_name" content="{_esc(site.name)}">\n{extra}'
        f'<link rel="stylesheet" href="/static/site.css">\n'
        + "".join(f'<link rel="preload" href="/static/font-{i}.woff2" as="font">'
                  for i in range(4))
        + _style(rng) + scripts + "\n</head>\n"
    )


def _menu(site: Site, chrome: Chrome) -> str:
    labels = site.labels
    entries = []
    for i, name in enumerate(labels.sections):
        href = chrome.sections[i % len(chrome.sections)]
        subs = "".join(f'<li class="sub"><a href="{_esc(href)}"><span>{labels.sub} '
                       f"{_esc(name)} {k + 1}</span></a></li>" for k in range(site.weight))
        entries.append(f'<li class="menu-item"><a href="{_esc(href)}"><span>{_esc(name)}</span>'
                       f'</a><div class="submenu"><ul>{subs}</ul></div></li>')
    return f'<nav class="menu" aria-label="sections"><ul>{"".join(entries)}</ul></nav>\n'


def _cards(cards: list[Link], kicker: str, rng: random.Random) -> str:
    out = []
    for href, headline in cards:
        out.append(
            f'<div class="card c{rng.randrange(60)}"><a href="{_esc(href)}">'
            f'<div class="thumb"><img src="/img/{rng.randrange(10**7)}.jpg" alt="" '
            f'loading="lazy" width="320" height="180"></div><div class="meta">'
            f'<span class="kicker">{_esc(kicker)}</span><h3>{_esc(headline)}</h3>'
            f"<time>{rng.randint(1, 23)}h</time></div></a></div>"
        )
    return "".join(out)


def _masthead(site: Site, chrome: Chrome, rng: random.Random) -> str:
    labels = site.labels
    ticker = "".join(f'<li><a href="{_esc(h)}">{_esc(t)}</a></li>' for h, t in chrome.cards[:8])
    return (
        f'<body class="c{rng.randrange(60)}">\n<div id="cookie-banner" class="modal" hidden>'
        f'<div class="dialog"><p>{labels.cookie}</p><button>{labels.accept}</button>'
        f'<button>{labels.refuse}</button></div></div>\n'
        f'<header class="masthead"><a class="logo" href="/">{_esc(site.name)}{_icon(rng)}</a>\n'
        + _menu(site, chrome)
        + f'<form class="search" action="/search"><input type="search" name="q">'
        f"<button>{_icon(rng)}</button></form></header>\n"
        f'<div class="ticker"><ul>{ticker}</ul></div>\n'
    )


def _footer(site: Site, chrome: Chrome, rng: random.Random) -> str:
    labels = site.labels
    columns = []
    for column in range(5):
        links = "".join(
            f'<li><a href="{_esc(chrome.sections[(column + k) % len(chrome.sections)])}">'
            f"{_esc(labels.footer[(column + k) % 10])}</a></li>"
            for k in range(site.weight)
        )
        columns.append(f'<div class="footer-col"><ul>{links}</ul></div>')
    social = "".join(f'<a class="social" href="#s{i}">{_icon(rng)}</a>' for i in range(6))
    return (
        f'<footer class="site-footer">{"".join(columns)}<div class="social-bar">{social}</div>'
        f"<p>© {rng.randint(2001, 2012)}–2025 {_esc(site.name)}. {labels.rights}.</p>"
        f"</footer>\n{_config_script(rng, 8000 * site.weight)}\n</body>\n</html>\n"
    )


def article_page(site: Site, article: SyntheticArticle, chrome: Chrome,
                 rng: random.Random) -> str:
    labels = site.labels
    day = article.published.isoformat()
    share = "".join(f'<button class="share-{i}">{_icon(rng)}</button>' for i in range(6))
    body = []
    for i, paragraph in enumerate(article.paragraphs):
        body.append(f"<p>{_esc(paragraph)}</p>")
        if i == 1:
            body.append(f'<div class="ad-slot"><span>{labels.advert}</span>'
                        f'<div class="ad-frame" data-slot="mid-{rng.randrange(99)}"></div></div>')
        if i == 2 and chrome.cards:
            href, label = chrome.cards[0]
            body.append(f'<aside class="read-also">{labels.also}: '
                        f'<a href="{_esc(href)}">{_esc(label)}</a></aside>')
    meta = (f'<meta property="article:published_time" content="{day}T08:00:00Z">\n'
            f'<meta name="author" content="{_esc(article.author)}">\n'
            f'<meta name="description" content="{_esc(article.paragraphs[0][:150])}">\n'
            f'<script type="application/ld+json">{{"@type":"NewsArticle","headline":'
            f'"{_esc(article.title)}","datePublished":"{day}"}}</script>\n')
    kicker = labels.sections[rng.randrange(10)]
    half = max(1, len(chrome.cards) // 2)
    return (
        _head(site, article.title, "article", rng, meta) + _masthead(site, chrome, rng)
        + '<main class="layout">\n<article class="story">\n'
        f'<nav class="breadcrumb"><a href="/">{labels.home}</a> › '
        f'<a href="{_esc(chrome.sections[0])}">{_esc(kicker)}</a></nav>\n'
        f"<h1>{_esc(article.title)}</h1>\n"
        f'<p class="byline">{labels.by} {_esc(article.author)} · '
        f'<time datetime="{day}">{day}</time></p>\n'
        f'<div class="share-bar"><span>{labels.share}</span>{share}</div>\n'
        f'<figure><img src="/img/{rng.randrange(10**7)}.jpg" alt="" width="960" height="540">'
        f"</figure>\n"
        f'<div class="article-body">\n' + "\n".join(body) + "\n</div>\n"
        f'<div class="tags">{labels.tags}: <a href="{_esc(chrome.sections[-1])}">'
        f"{_esc(kicker)}</a></div>\n</article>\n"
        f'<section class="related"><h2>{labels.related}</h2>'
        f"{_cards(chrome.cards[:4], kicker, rng)}</section>\n"
        f'<section class="more"><h2>{labels.more}</h2>'
        f"{_cards(chrome.cards[half:], kicker, rng)}</section>\n</main>\n"
        f'<aside class="sidebar"><h2>{labels.most_read}</h2>'
        f"{_cards(chrome.cards[:half], kicker, rng)}\n"
        f'<div class="newsletter">{labels.subscribe} <input type="email"></div>'
        f'<div class="ad-slot"><span>{labels.advert}</span></div></aside>\n'
        + _footer(site, chrome, rng)
    )


def listing_page(site: Site, title: str, items: list[tuple[str, str, str]], chrome: Chrome,
                 rng: random.Random) -> str:
    """A section front: headlines with teasers, then links to further listing pages."""
    entries = "".join(
        f'<li class="teaser"><a href="{_esc(href)}">{_esc(headline)}</a>'
        f"<p>{_esc(teaser)}</p></li>\n"
        for href, headline, teaser in items
    )
    return (
        _head(site, title, "website", rng) + _masthead(site, chrome, rng)
        + f'<main>\n<h1>{_esc(title)}</h1>\n<ul class="stories">\n{entries}</ul>\n</main>\n'
        + _footer(site, chrome, rng)
    )
