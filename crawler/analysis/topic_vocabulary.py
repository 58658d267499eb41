"""The country codes and themes a topic profile can tag an article with.

Read from the profile's TOML without compiling it (``TopicProfile`` builds large
regular expressions), for the command line: its filters refuse a theme or a
country no article could carry, and its help lists the themes.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from crawler.analysis.topic import DEFAULT_PROFILE_PATH


@dataclass(frozen=True)
class ProfileTags:
    countries: tuple[str, ...]  # in the profile's order: China, Central Asia, the others
    themes: tuple[str, ...]


@lru_cache(maxsize=4)
def profile_tags(path: Path = DEFAULT_PROFILE_PATH) -> ProfileTags:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    countries = tuple(entry.get("code", table) for table, entry in data["countries"].items()
                      if entry.get("tag", True))
    return ProfileTags(countries, tuple(data["themes"]))
