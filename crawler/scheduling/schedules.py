"""When crawls run: an interval (``90s``, ``30m``, ``6h``) or a cron expression.

Given on the command line or in the seeds file's ``[schedule]`` table; both
end up as an APScheduler trigger.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from crawler.errors import UsageError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?[smhd])+")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``6h``, ``1d``, or combined like ``1h30m``."""
    compact = text.strip().lower().replace(" ", "")
    if not _DURATION.fullmatch(compact):
        raise UsageError(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h, 1h30m)")
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _DURATION_PART.findall(compact))
    if seconds < 1:
        raise UsageError(f"duration {text!r} is shorter than one second")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise UsageError(f"duration {text!r} is too long") from None


@dataclass(frozen=True)
class Schedule:
    """When a crawl runs: ``every`` a duration, or on a ``cron`` expression."""

    kind: str  # every | cron
    expression: str

    @classmethod
    def parse(cls, *, cron: str | None = None, every: str | None = None) -> Schedule | None:
        if cron and every:
            raise UsageError("give either --cron or --every, not both")
        if every:
            schedule = cls("every", every.strip())
            schedule.trigger()
            return schedule
        if cron:
            schedule = cls("cron", " ".join(cron.split()))
            schedule.trigger()
            return schedule
        return None

    @classmethod
    def from_table(cls, table: dict[str, Any], where: str) -> Schedule | None:
        """The seeds file's ``[schedule]`` table: ``every = "6h"`` or ``cron = "0 */6 * * *"``."""
        if not table:
            return None
        unknown = sorted(set(table) - {"every", "cron"})
        if unknown:
            raise UsageError(f"{where}: schedule table has unknown key(s) {', '.join(unknown)}")
        for key in ("every", "cron"):
            if key in table and not isinstance(table[key], str):
                raise UsageError(f"{where}: schedule table: `{key}` must be a string")
        try:
            return cls.parse(cron=table.get("cron"), every=table.get("every"))
        except UsageError as exc:
            raise UsageError(f"{where}: schedule table: {exc}") from None

    def trigger(self) -> BaseTrigger:
        """The APScheduler trigger; refused when it would never fire, so that a scheduler
        is never left idling on a schedule such as February 30th."""
        trigger = self._trigger()
        try:
            fires = trigger.get_next_fire_time(None, datetime.now(UTC))
        except OverflowError:
            fires = None
        if fires is None:
            raise UsageError(f"{self.describe()} never fires")
        return trigger

    def _trigger(self) -> BaseTrigger:
        if self.kind == "every":
            try:
                return IntervalTrigger(seconds=parse_duration(self.expression).total_seconds())
            except OverflowError:
                raise UsageError(f"duration {self.expression!r} is too long") from None
        try:
            minute, hour, day, month, weekday = _crontab_fields(self.expression)
            return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                               day_of_week=crontab_weekdays(weekday))
        except ValueError as exc:
            raise UsageError(f"not a cron expression: {self.expression!r} ({exc})") from None

    def describe(self) -> str:
        return f"every {self.expression}" if self.kind == "every" else f"cron {self.expression!r}"


_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _crontab_fields(expression: str) -> list[str]:
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{len(fields)} fields, expected 5 (minute hour day month weekday)")
    return fields


def crontab_weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler 3 names.

    Crontab counts from Sunday = 0 (and 7); APScheduler 3 counts from Monday = 0,
    so ``1-5`` handed over as it is would mean Tuesday to Saturday. Names mean
    the same to both.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for item in field.lower().split(","):
        part, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in weekday field {field!r}")
        if part == "*":
            first, last = 0, 6
        elif "-" in part:
            start, _, end = part.partition("-")
            first, last = _crontab_day(start, field), _crontab_day(end, field)
        else:
            first = _crontab_day(part, field)
            last = 6 if step else first
        if first > last:
            raise ValueError(f"backward range in weekday field {field!r}")
        days.update(day % 7 for day in range(first, last + 1, step or 1))
    return ",".join(_CRON_DAYS[day] for day in sorted(days))


def _crontab_day(token: str, field: str) -> int:
    if token.isdigit() and int(token) <= 7:
        return int(token)
    if token[:3] in _CRON_DAYS and len(token) == 3:
        return _CRON_DAYS.index(token)
    raise ValueError(f"bad weekday {token!r} in {field!r}")
