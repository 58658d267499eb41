"""Exceptions raised by the Scrapy-free core and the storage layer.

The CLI turns every ``SilkroadError`` into a one-line message and exit status 2;
anything else is a bug and keeps its traceback.

    SilkroadError
    ├── ArchiveBusy           the archive already has the one process a role allows
    ├── SeedsError            seeds file missing, unreadable or malformed
    ├── DatabaseUrlError      --db / SILKROAD_DB is not a usable database URL
    ├── QueryError            a search query the full-text engine cannot parse
    ├── TopicProfileError     the topic profile file is missing or malformed
    └── UsageError            any other bad value given by the user
"""

from __future__ import annotations


class SilkroadError(Exception):
    """Base of every error that is the user's to fix, not a bug."""


class ArchiveBusy(SilkroadError):
    pass


class SeedsError(SilkroadError):
    pass


class DatabaseUrlError(SilkroadError):
    pass


class QueryError(SilkroadError):
    pass


class TopicProfileError(SilkroadError):
    pass


class UsageError(SilkroadError):
    pass
