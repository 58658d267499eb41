"""The report's filters: a period, a country and a theme, refused when they cannot mean
anything (a malformed date, a period that ends before it starts, a country or theme that
neither the topic profile nor the archive knows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from crawler.errors import UsageError
from storage.records import ArticleFilter, parse_day

DEFAULT_QUIET_DAYS = 30


@dataclass(frozen=True)
class ReportFilters:
    since: date | None = None
    until: date | None = None
    country: str | None = None  # upper case
    theme: str | None = None  # lower case

    @classmethod
    def parse(cls, since: str | None = None, until: str | None = None,
              country: str | None = None, theme: str | None = None) -> ReportFilters:
        first = parse_day(since, option="--since")
        last = parse_day(until, last=True, option="--until")
        if first and last and first > last:
            raise UsageError(f"--since {since} is after --until {until}")
        return cls(first, last, country.strip().upper() if country else None,
                   theme.strip().lower() if theme else None)

    def article_filter(self) -> ArticleFilter:
        return ArticleFilter(country=self.country, theme=self.theme, since=self.since,
                             until=self.until)

    @property
    def active(self) -> bool:
        return any((self.since, self.until, self.country, self.theme))

    def describe(self) -> str:
        """The filters in words, as the page states them."""
        if not self.active:
            return "all articles of the archive"
        parts = []
        if self.since and self.until:
            parts.append(f"dated {self.since} to {self.until}")
        elif self.since:
            parts.append(f"dated {self.since} or later")
        elif self.until:
            parts.append(f"dated {self.until} or earlier")
        if self.country:
            parts.append(f"about country {self.country}")
        if self.theme:
            parts.append(f"on theme {self.theme}")
        return "articles " + ", ".join(parts)


@dataclass(frozen=True)
class QuietRule:
    """A source is quiet when its newest article is more than ``days`` days older than
    the archive's newest (or than ``--until``, when the report ends earlier)."""

    days: int
    reference: date | None

    @classmethod
    def for_archive(cls, days: int, archive_last_day: str | None,
                    until: date | None) -> QuietRule:
        last = date.fromisoformat(archive_last_day) if archive_last_day else None
        if last is not None and until is not None:
            last = min(last, until)
        return cls(days, last)

    @property
    def cutoff(self) -> date | None:
        return None if self.reference is None else self.reference - timedelta(days=self.days)

    def is_quiet(self, last_article: str | None) -> bool:
        if last_article is None:
            return True
        return self.cutoff is not None and last_article[:10] < self.cutoff.isoformat()

    def describe(self) -> str:
        if self.reference is None:
            return "No article is dated yet, so no source can be judged quiet."
        return (f"Quiet: a source whose newest article is dated before {self.cutoff}, more than "
                f"{self.days} days before the archive's newest article ({self.reference}), "
                "or that has no article at all.")
