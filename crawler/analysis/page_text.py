"""Every text of a parsed page that an extracted article could be made of.

A crawl skips extraction on pages that cannot be on topic (see
``TopicProfile.may_keep``), which is only sound if this text holds every word
trafilatura could put in an article's title or body: all text nodes outside
scripts and style sheets, ``<meta content>`` (og:title and the like) and
JSON-LD, cleaned as trafilatura cleans its output (no control or format
characters such as soft hyphens and zero-width spaces, NFC).

Where one text node ends and the next begins, trafilatura runs inline
elements on ("Kazakh<b>stan</b>") and breaks lines between blocks
("<h2>Trade</h2><p>China"), so a term may be in the nodes run on or only with
a space between them. Spaces make a difference only where two nodes meet word
to word, so besides the text run on, the text around each such seam is given
with the nodes spaced: as good as searching the whole text twice, at a fraction
of the cost.
"""

from __future__ import annotations

import html
import itertools
import re
import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

from lxml.html import HtmlElement

_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_SPACES = re.compile(r"\s+")
_NODE_END = "\x00"  # kept through the cleaning below, so the nodes can be split apart again
#: Characters each side of a seam: more than the longest term of a topic profile
#: (48 in ours), the word endings its stems take and the characters its pattern
#: looks at around it.
SEAM_REACH = 100


def _unprintable() -> re.Pattern[str]:
    # Basic plane only: a class reaching beyond it is matched range by range, ten times slower.
    ranges: list[list[int]] = []
    for code in range(1, 0x10000):
        char = chr(code)
        if char.isprintable() or char.isspace() or 0xD800 <= code < 0xE000:
            continue
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1][1] = code
        else:
            ranges.append([code, code])
    return re.compile("[" + "".join(
        re.escape(chr(low)) + (f"-{re.escape(chr(high))}" if high > low else "")
        for low, high in ranges) + "]")


_UNPRINTABLE = _unprintable()


class PageTexts(NamedTuple):
    run_on: str  # every text node, one after the other
    seams: str  # around each word-to-word seam between nodes, the nodes spaced


def page_texts(tree: HtmlElement) -> PageTexts:
    joined = _NODE_END.join(node.replace(_NODE_END, "") for node in _nodes(tree))
    nodes = [node for node in _SPACES.sub(" ", _UNPRINTABLE.sub("", joined)).split(_NODE_END)
             if node]
    spaced = " ".join(nodes)
    windows: list[list[int]] = []
    position = -1
    for before, after in itertools.pairwise(nodes):
        position += len(before) + 1
        if _wordy(before[-1]) and _wordy(after[0]):
            start, end = max(0, position - SEAM_REACH), position + SEAM_REACH + 1
            if windows and start <= windows[-1][1]:
                windows[-1][1] = end
            else:
                windows.append([start, end])
    seams = "\n".join(spaced[start:end] for start, end in windows)
    return PageTexts(_nfc("".join(nodes)), _nfc(seams))


def _nodes(tree: HtmlElement) -> Iterator[str]:
    for element in tree.iter():
        tag = element.tag
        if not isinstance(tag, str):
            pass  # comments and processing instructions: trafilatura drops them
        elif tag == "meta":
            yield element.get("content") or ""
        elif tag == "script":
            if "json" in (element.get("type") or "").lower() and element.text:
                yield _json_text(element.text)
        elif tag != "style" and element.text:
            yield element.text
        if element.tail:
            yield element.tail


def _wordy(char: str) -> bool:
    return char.isalnum() or char == "_"  # what \w matches


def _json_text(text: str) -> str:
    text = html.unescape(text)
    return _JSON_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text) if "\\u" in text else text


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)
