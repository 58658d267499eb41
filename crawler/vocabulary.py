"""The words the archive stores and the crawl counts with, in one place.

Their values are in users' archives (``fetches.outcome``, ``crawl_runs.outcome``,
``crawl_runs.stats``) and in what the CLI prints, so they never change; a
``StrEnum`` member equals its plain string, and older rows still compare equal.
"""

from __future__ import annotations

from enum import StrEnum


class PageOutcome(StrEnum):
    """What one fetch of a page turned out to be (``fetches.outcome``, ``pages.last_outcome``)."""

    ARTICLE = "article"
    OFF_TOPIC = "off_topic"
    NO_ARTICLE = "no_article"
    REVISIT = "revisit"  # the bytes equal the last snapshot's (or a 304)
    ERROR = "error"  # analysis raised: kept raw for `silkroad reprocess`
    STORE_ERROR = "store_error"  # the page could not be stored
    ROBOTS = "robots"  # a robots.txt, stored as fetched: it decided what was crawled
    REDIRECT = "redirect"  # a redirect the crawl followed, stored for replay


# Outcomes of responses stored beside the pages, as fetched: never analysed, never
# counted as pages fetched.
NOT_PAGES = (PageOutcome.ROBOTS, PageOutcome.REDIRECT)


class PageState(StrEnum):
    """How a fetch changed its page's snapshots."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    ERROR = "error"


class ArticleState(StrEnum):
    """What storing a page did to the articles."""

    NEW = "new"
    DUPLICATE = "duplicate"
    REVISIT = "revisit"


class RunOutcome(StrEnum):
    """How a run ended (``crawl_runs.outcome``); ``running`` until it does."""

    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    PARTIAL = "partial"  # an import that skipped or stopped on some files


class Trigger(StrEnum):
    """What started a run (``crawl_runs.trigger``)."""

    MANUAL = "manual"
    SCHEDULE = "schedule"
    DEMO = "demo"
    IMPORT = "import"
    REPROCESS = "reprocess"


class FetchKind(StrEnum):
    """What a request fetches (``frontier.kind``, the ``silkroad_kind`` request meta)."""

    PAGE = "page"
    FEED = "feed"
    SITEMAP = "sitemap"
    ROBOTS = "robots"


class Stat:
    """Keys of the crawl's Scrapy stats, stored with each run in ``crawl_runs.stats``."""

    PREFIX = "silkroad/"
    SOURCE_PREFIX = "silkroad/source/"

    RUN_ID = "silkroad/run_id"
    SESSION_ID = "silkroad/session_id"
    OUTCOME = "silkroad/outcome"
    BATCH_FAILURES = "silkroad/batch_failures"
    WRITE_CONFLICTS = "silkroad/write_conflicts"  # batches written again (PostgreSQL deadlocks)
    STORE_FAILURES = "silkroad/store_failures"
    RESUMED_PENDING = "silkroad/resumed_pending"
    RESUMED_DONE = "silkroad/resumed_done"
    HOSTS_LEASED = "silkroad/hosts_leased"
    FRONTIER_CLAIMED = "silkroad/frontier_claimed"
    FRONTIER_ORPHANS = "silkroad/frontier_orphans"

    PAGES_FETCHED = "silkroad/pages_fetched"
    ARTICLES_ARCHIVED = "silkroad/articles_archived"
    DUPLICATES = "silkroad/duplicates"
    OFF_TOPIC = "silkroad/off_topic"
    PREFILTERED = "silkroad/prefiltered"
    NO_ARTICLE = "silkroad/no_article"
    REVISITS = "silkroad/revisits"
    REVISITS_SAME_DIGEST = "silkroad/revisits_same_digest"
    PAGES_NEW = "silkroad/pages_new"
    PAGES_CHANGED = "silkroad/pages_changed"
    PAGES_UNCHANGED = "silkroad/pages_unchanged"

    ANALYSIS_ERRORS = "silkroad/analysis_errors"
    FETCH_ERRORS = "silkroad/fetch_errors"
    HTTP_ERRORS = "silkroad/http_errors"
    STORE_ERRORS = "silkroad/store_errors"

    CONDITIONAL_REQUESTS = "silkroad/conditional_requests"
    SKIPPED_NOT_HTML = "silkroad/skipped_not_html"
    LINKS_OFF_SCOPE = "silkroad/links_off_scope"  # distinct links, per crawl process
    FEEDS_EMPTY_OR_BROKEN = "silkroad/feeds_empty_or_broken"
    SITEMAPS_BROKEN = "silkroad/sitemaps_broken"
    UNFETCHED_AT_CLOSE = "silkroad/unfetched_at_close"
    OFF_SCOPE_REFUSED = "silkroad/off_scope_refused"
    SSRF_REFUSED = "silkroad/ssrf_refused"
    ROBOTS_TRUNCATED = "silkroad/robots_truncated"
    ROBOTS_STORED = "silkroad/robots_stored"
    REDIRECTS_STORED = "silkroad/redirects_stored"
    RETRY_AFTER_TOO_LONG = "silkroad/retry_after_too_long"
    RETRY_WAIT_SECONDS = "silkroad/retry_wait_seconds"

    @staticmethod
    def named(counter: str) -> str:
        """``silkroad/<counter>``, for a counter named at run time (``fetch_errors``)."""
        return f"{Stat.PREFIX}{counter}"

    @staticmethod
    def pages(page_state: str) -> str:
        """``silkroad/pages_<state>``: pages new, changed or unchanged."""
        return f"{Stat.PREFIX}pages_{page_state}"

    @staticmethod
    def source(name: str, counter: str) -> str:
        """``silkroad/source/<name>/<counter>``: one source's share of a counter."""
        return f"{Stat.SOURCE_PREFIX}{name}/{counter}"


class SourceStat(StrEnum):
    """Counters kept per source (``Stat.source(name, counter)``)."""

    FETCHED = "fetched"
    ARCHIVED = "archived"
    UNDATED = "undated"
    DUPLICATES = "duplicates"
    OFF_TOPIC = "off_topic"
    PREFILTERED = "prefiltered"
    NO_ARTICLE = "no_article"
    ANALYSIS_ERRORS = "analysis_errors"
    STORE_ERRORS = "store_errors"
    FETCH_ERRORS = "fetch_errors"
    HTTP_ERRORS = "http_errors"
    ROBOTS_DENIED = "robots_denied"
