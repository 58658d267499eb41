"""A crawl process's memory of the URLs (or hrefs) it has dealt with, bounded.

The frontier keeps one row per URL for the whole session; this memory only
spares a process the work of meeting a URL again (a request built and dropped,
an href resolved again). Forgetting is therefore safe, and past ``limit``
entries everything is forgotten at once rather than tracked by age.
"""

from __future__ import annotations

SEEN_LIMIT = 200_000


class SeenUrls:
    def __init__(self, limit: int = SEEN_LIMIT) -> None:
        self.limit = limit
        self._seen: set[str] = set()

    def __contains__(self, url: object) -> bool:
        return url in self._seen

    def __len__(self) -> int:
        return len(self._seen)

    def add(self, url: str) -> None:
        if len(self._seen) >= self.limit:
            self._seen.clear()
        self._seen.add(url)

    def first(self, url: str) -> bool:
        """Remember ``url``; whether it was new."""
        if url in self._seen:
            return False
        self.add(url)
        return True
