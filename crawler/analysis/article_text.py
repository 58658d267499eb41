"""The stored text of an article: its body, the same whatever template it came in.

The text is hashed to tell articles apart, so what trafilatura keeps around the body
must not depend on the site: some templates put the headline inside the article and
some do not, some print a byline, a date line or breadcrumbs above the first
paragraph. One rule for all: the headline is the title's business, not the text's;
the first lines lose headline, byline, date and breadcrumb lines, and photo credits
and paywall notices go wherever they are. A byline taken out is handed back, for
pages whose metadata names no author.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

#: How many of the first lines may be a page's header (headline, kicker, byline, date).
HEAD_LINES = 6
#: A line this much of the headline, and inside it, is the headline (or its deck).
HEADLINE_SHARE = 0.6
#: Credit and paywall lines are short; a longer one is a paragraph that mentions them.
NOTICE_MAX_CHARS = 160
BREADCRUMB_MAX_WORDS = 6

_NOT_KEY = re.compile(r"[\W_]+")
_LIST_ITEM = re.compile(r"^[-•·*]\s+(.+)$")
_CRUMBS = re.compile(r"\s+[>›»/]\s+")

_DATE_WORDS = re.compile(
    r"(?i)\d+|\b(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t|tember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?"
    r"|tue(?:sday)?|wed(?:nesday)?|thu(?:rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?"
    r"|am|pm|a\.m|p\.m|jst|gmt|utc|msk|est|edt|pst|pdt|cet|cest|ist|kst|hkt|almt"
    r"|last|updated?|published|posted|on|at|de|del|le|à|um|uhr|г|года|в"
    r"|ocak|şubat|mart|nisan|mayıs|haziran|temmuz|ağustos|eylül|ekim|kasım|aralık"
    r"|güncelleme|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября"
    r"|ноября|декабря|обновлено|опубликовано|janvier|février|mars|avril|mai|juin"
    r"|juillet|août|septembre|octobre|novembre|décembre|enero|febrero|marzo|abril|mayo"
    r"|junio|julio|agosto|septiembre|octubre|noviembre|diciembre|januar|februar|märz"
    r"|juni|juli|oktober|dezember|입력|수정|업데이트|오전|오후)\b"
    r"|[年月日时時分秒]|更新|发布|發布|公開|公开|发表|發表"
)
_DATE_LEFTOVER = re.compile(r"[\W_]+")

_BYLINES = (
    # English, French, German, Spanish: a label and capitalised names, nothing else.
    re.compile(r"^(?:By|BY|Par|Von|Por)\s+((?:[A-ZÀ-ÖØ-Þ][\w'’.-]*(?:\s+|,\s*|\s+(?:and|&|et|und"
               r"|y)\s+)?){1,8})$"),
    re.compile(r"^(?:Автор[ыа]?|Текст)\s*[:：]\s*([А-ЯЁA-Z][\w\s,.-]{2,80})$"),
    re.compile(r"^[（(]?\s*(?:(?:本报记者|新华社记者|记者|作者)\s*[:：/／]?|文\s*[:：/／])\s*"
               r"([\u4e00-\u9fff]{2,4}(?:[、，, ·]+[\u4e00-\u9fff]{2,4})*)\s*[）)]?$"),
    re.compile(r"^([가-힣]{2,4}(?:\s*[,·]\s*[가-힣]{2,4})*)\s*(?:기자|특파원)(?:\s*외\s*\d+\s*명)?$"),
)
_TRAILING_CHINESE_BYLINE = re.compile(
    r"[（(]\s*(?:本报)?记者\s*([\u4e00-\u9fff]{2,4}(?:[、，, ·]+[\u4e00-\u9fff]{2,4})*)[）)]\s*$")
_BARE_LABELS = frozenset({"by", "автор", "作者", "记者", "新华社记者", "本报记者", "기자"})

_CREDIT = re.compile(
    r"(?i)^[(（\[]?\s*(?:all\s+)?(?:photos?|photograph(?:s|y)?|images?|pictures?|illustrations?"
    r"|credits?|фото(?:графия)?|图片?|圖片?|摄影|攝影|写真|사진)\s*(?:credit|courtesy|来源|來源)?"
    r"\s*(?:[:：/|]|\s+by\s)"
)
_PAYWALL = re.compile(
    r"(?i)subscribe\s+(?:now\s+)?to\s+(?:continue|read|keep)|(?:already|become)\s+a\s+subscriber"
    r"|(?:article|story|content)\s+is\s+(?:only\s+)?(?:available|reserved|exclusive)\s+"
    r"(?:to|for)\s+(?:subscribers|members)|sign\s+(?:in|up)\s+to\s+(?:continue|read)"
    r"|to\s+continue\s+reading|reached\s+your\s+(?:free\s+)?(?:article\s+)?limit"
    r"|чтобы\s+(?:продолжить\s+чтение|прочитать)|оформите\s+подписку|доступ\w*\s+(?:только\s+)?"
    r"(?:для|по)\s+подписчик|登录后(?:阅读|查看)|会员专享|會員專享|付费(?:阅读|内容)|有料会員"
    r"|残り\d+文字|続きを読むには|구독자\s*전용|로그인\s*후\s*(?:이용|보기)"
    r"|jetzt\s+(?:abonnieren|weiterlesen)|réservé\s+aux\s+abonnés|abonnez-vous"
    r"|contenido\s+exclusivo\s+para\s+suscriptores|suscríbete\s+para"
)


@dataclass(frozen=True)
class ArticleText:
    text: str
    byline: str | None = None  # names in a byline line the text opened or closed with


def clean_article_text(text: str, *, headlines: Iterable[str | None] = (),
                       authors: Iterable[str] = ()) -> ArticleText:
    """``headlines``: the title, the page title, og:title, the <h1>s; ``authors``:
    the names already found, whose lines at the head are bylines too."""
    lines = [line for raw in text.split("\n") if (line := " ".join(raw.split()))]
    heads = {key for h in headlines if h and len(key := _key(h)) >= 4}
    names = {key for name in authors if len(key := _key(name)) >= 2}
    trailing = _trailing_byline(lines[-1]) if lines else None
    byline = None
    lines = _drop_breadcrumbs(lines)
    kept: list[str] = []
    skip = False
    for index, line in enumerate(lines[:HEAD_LINES]):
        if skip:
            skip = False
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if _is_headline(line, heads):
            continue
        if index < 2 and following and _is_headline(line + following, heads):
            skip = True  # a headline broken over two lines
            continue
        found = _byline(line)
        if found:
            byline = byline or found
            continue
        if _key(line) in names or line.casefold() in _BARE_LABELS or _is_date_line(line):
            continue
        kept.append(line)
    kept += lines[HEAD_LINES:]
    return ArticleText("\n".join(line for line in kept if not _is_notice(line)),
                       byline or trailing)


def _key(text: str) -> str:
    return _NOT_KEY.sub("", text).casefold()


def _is_headline(line: str, heads: set[str]) -> bool:
    key = _key(line)
    if len(key) < 4:
        return False
    return any(key == head or (key in head and len(key) >= HEADLINE_SHARE * len(head))
               for head in heads)


def _is_date_line(line: str) -> bool:
    if len(line) > 80 or not re.search(r"\d", line):
        return False
    return not _DATE_LEFTOVER.sub("", _DATE_WORDS.sub("", line))


def _byline(line: str) -> str | None:
    if len(line) > 100:
        return None
    for pattern in _BYLINES:
        match = pattern.match(line)
        if match:
            return match.group(1).strip(" ,、")
    return None


def _trailing_byline(line: str) -> str | None:
    match = _TRAILING_CHINESE_BYLINE.search(line)
    return match.group(1) if match else None


def _drop_breadcrumbs(lines: list[str]) -> list[str]:
    """Three or more short list items, or a "Home > World > Asia" line, at the very top."""
    if lines and len(parts := _CRUMBS.split(lines[0])) >= 3 \
            and all(len(part.split()) <= 4 for part in parts):
        return lines[1:]
    items = 0
    while items < len(lines) and (match := _LIST_ITEM.match(lines[items])) \
            and len(match.group(1).split()) <= BREADCRUMB_MAX_WORDS:
        items += 1
    return lines[items:] if items >= 3 else lines


def _is_notice(line: str) -> bool:
    return len(line) <= NOTICE_MAX_CHARS and bool(_CREDIT.match(line) or _PAYWALL.search(line))
