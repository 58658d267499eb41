"""Retries that wait: the server's Retry-After, else exponential back-off.

Scrapy's RetryMiddleware retries a 429 or a 503 at once, which is what a
rate-limited or overloaded server asked us not to do. This subclass keeps its
bookkeeping (``RETRY_TIMES``, ``RETRY_HTTP_CODES``, ``RETRY_EXCEPTIONS``, the
``retry/*`` stats) and waits before it hands a retry back: as long as the
response's ``Retry-After`` says (seconds or an HTTP date), else
``SILKROAD_RETRY_BACKOFF`` seconds doubled at each attempt. A server that asks
for longer than ``SILKROAD_RETRY_BACKOFF_MAX`` is not retried in this crawl; the
next crawl asks again. The wait does not hold a download slot, only the request.

The retry request comes from Scrapy's public ``get_retry_request`` (with the
per-request ``max_retry_times``, ``priority_adjust`` and ``give_up_log_level``
meta keys RetryMiddleware honours), not from the private
``RetryMiddleware._retry``. ``scrapy.utils.asyncio.sleep`` is new in Scrapy
2.18, hence the floor in pyproject.toml.
"""

from __future__ import annotations

import email.utils
import logging
import math
from datetime import UTC, datetime
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware, get_retry_request
from scrapy.http import Response
from scrapy.utils.asyncio import sleep
from scrapy.utils.response import response_status_message

from crawler.vocabulary import Stat

log = logging.getLogger(__name__)


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for (RFC 9110 §10.2.3), or None."""
    if value is None:
        return None
    text = (value.decode("latin-1") if isinstance(value, bytes) else value).strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def backoff_seconds(attempt: int, base: float, longest: float) -> float:
    """``base``, then twice as long at each further attempt, at most ``longest``."""
    return min(longest, base * 2 ** max(0, attempt - 1))


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base_delay = settings.getfloat("SILKROAD_RETRY_BACKOFF", 1.0)
        self.max_delay = settings.getfloat("SILKROAD_RETRY_BACKOFF_MAX", 60.0)
        self.retry_times = settings.getint("RETRY_TIMES")
        self.retry_priority_adjust = settings.getint("RETRY_PRIORITY_ADJUST")
        self.retry_give_up_log_level = settings.get("RETRY_GIVE_UP_LOG_LEVEL")

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        asked = retry_after_seconds(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.max_delay:
            self.crawler.stats.inc_value(Stat.RETRY_AFTER_TOO_LONG)
            log.info("not retrying %s in this crawl: Retry-After %.0f s", request.url, asked)
            return response
        retry = self._retry_request(request, response_status_message(response.status))
        if retry is None:
            return response
        await self._wait(retry, asked)
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | None:
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        retry = self._retry_request(request, exception)
        if retry is not None:
            await self._wait(retry, None)
        return retry

    def _retry_request(self, request: Request, reason: str | Exception) -> Request | None:
        """The request again, counted in the ``retry/*`` stats; None once retries run out."""
        meta = request.meta
        return get_retry_request(
            request,
            spider=self.crawler.spider,
            reason=reason,
            max_retry_times=meta.get("max_retry_times", self.retry_times),
            priority_adjust=meta.get("priority_adjust", self.retry_priority_adjust),
            give_up_log_level=meta.get("give_up_log_level", self.retry_give_up_log_level),
        )

    async def _wait(self, retry: Request, asked: float | None) -> None:
        delay = asked if asked is not None else backoff_seconds(
            retry.meta.get("retry_times", 1), self.base_delay, self.max_delay)
        if delay > 0:
            self.crawler.stats.inc_value(Stat.RETRY_WAIT_SECONDS, math.ceil(delay))
            await sleep(delay)
