"""Per-source health, judged from the counters each crawl run leaves in its stats.

A crawl that "succeeds" can still be quietly broken for one site: its pages
now answer 403, robots.txt shuts us out, a redesign defeats extraction, or
the feed stopped moving. None of that fails the run, so it is looked for
here, source by source, over the latest runs. The counters are the
``silkroad/source/<name>/<counter>`` stats of a run: ``fetched``, ``archived``,
``duplicates``, ``off_topic`` (of them ``prefiltered``: off topic by the whole page,
never extracted), ``no_article``, ``analysis_errors``,
``undated`` (archived without a publication date), and ``http_errors``,
``robots_denied``, ``fetch_errors`` (requests that produced no page).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from crawler.vocabulary import RunOutcome, SourceStat, Stat, Trigger
from storage.models import CrawlRun
from storage.runs import latest_runs

SOURCE_PREFIX = Stat.SOURCE_PREFIX
FAILURE_COUNTERS = {
    SourceStat.HTTP_ERRORS: "HTTP errors (4xx/5xx)",
    SourceStat.ROBOTS_DENIED: "robots.txt denials",
    SourceStat.FETCH_ERRORS: "network errors",
}
# Runs that read stored pages instead of crawling say nothing about a site.
NON_CRAWL_TRIGGERS = frozenset({Trigger.IMPORT, Trigger.REPROCESS})
# Interrupted and still-running crawls are incomplete: judging from them would mislead.
JUDGED_OUTCOMES = frozenset({RunOutcome.OK, RunOutcome.FAILED})


@dataclass(frozen=True)
class HealthPolicy:
    """Thresholds: how much evidence makes a source unhealthy."""

    stale_runs: int = 3  # runs in a row without a new article, where there used to be some
    failing_runs: int = 2  # runs in a row where most requests failed or nothing was fetched
    error_share: float = 0.5  # share of a source's requests that failed (4xx/5xx, robots, network)
    extraction_share: float = 0.8  # share of fetched pages with no extractable text
    undated_share: float = 0.5  # share of new articles without a publication date
    min_pages: int = 5  # fewer pages than this say nothing about extraction
    min_articles: int = 3  # fewer new articles than this say nothing about dates
    window: int = 30  # runs looked at, newest first


@dataclass(frozen=True)
class RunStats:
    """One judged crawl run, as health needs it."""

    id: int
    started_at: datetime
    seeds_file: str | None
    sources: Mapping[str, Mapping[str, int]]

    @classmethod
    def of(cls, run: CrawlRun) -> RunStats:
        return cls(run.id, run.started_at, run.seeds_file, source_counts(run.stats or {}))


@dataclass(frozen=True)
class Problem:
    code: str  # unreachable | failing | stale | extraction | undated
    message: str


@dataclass(frozen=True)
class SourceHealth:
    source: str
    runs: int  # runs judged
    last_run_id: int
    latest: Mapping[str, int]  # the counters of the latest run
    problems: tuple[Problem, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "healthy": self.healthy,
            "runs": self.runs,
            "last_run_id": self.last_run_id,
            "latest": dict(self.latest),
            "problems": [{"code": p.code, "message": p.message} for p in self.problems],
        }


def source_counts(stats: Mapping[str, Any]) -> dict[str, dict[str, int]]:
    """``{"silkroad/source/CGTN/fetched": 4}`` → ``{"CGTN": {"fetched": 4}}``."""
    counts: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if not key.startswith(SOURCE_PREFIX) or not isinstance(value, int | float):
            continue
        name, sep, counter = key[len(SOURCE_PREFIX):].rpartition("/")
        if sep and name and counter:
            counts.setdefault(name, {})[counter] = int(value)
    return counts


def judged_runs(session: Session, window: int) -> list[RunStats]:
    """The latest finished crawls, oldest first."""
    runs = latest_runs(session, window, outcomes=JUDGED_OUTCOMES,
                       exclude_triggers=NON_CRAWL_TRIGGERS)
    return [RunStats.of(run) for run in reversed(runs)]


def assess_archive(session: Session, policy: HealthPolicy | None = None,
                   sources: Iterable[str] | None = None) -> list[SourceHealth]:
    policy = policy or HealthPolicy()
    return assess(judged_runs(session, policy.window), policy, sources)


def assess(runs: Sequence[RunStats], policy: HealthPolicy | None = None,
           sources: Iterable[str] | None = None) -> list[SourceHealth]:
    """Health of every source seen in ``runs`` (oldest first), or of ``sources`` only.

    A source is judged over the runs of the seeds file that last crawled it,
    from the first run it appeared in: a run of that file that has no counter
    for it fetched nothing from it.
    """
    policy = policy or HealthPolicy()
    wanted = None if sources is None else set(sources)
    report = []
    for name in sorted({n for run in runs for n in run.sources}):
        if wanted is not None and name not in wanted:
            continue
        series = _series(runs, name)
        report.append(SourceHealth(
            source=name,
            runs=len(series),
            last_run_id=series[-1][0],
            latest=series[-1][1],
            problems=tuple(_problems([counts for _, counts in series], policy)),
        ))
    return report


def _series(runs: Sequence[RunStats], name: str) -> list[tuple[int, Mapping[str, int]]]:
    home = next(run.seeds_file for run in reversed(runs) if name in run.sources)
    mine = [run for run in runs if run.seeds_file == home]
    first = next(i for i, run in enumerate(mine) if name in run.sources)
    return [(run.id, run.sources.get(name, {})) for run in mine[first:]]


def _problems(series: Sequence[Mapping[str, int]], policy: HealthPolicy) -> list[Problem]:
    problems = []
    failing = _failing(series, policy)
    if failing is not None:
        problems.append(failing)
    else:
        stale = _stale(series, policy)
        if stale is not None:
            problems.append(stale)
    recent = series[-policy.stale_runs:]
    analysed = _sum(recent, SourceStat.FETCHED) - _sum(recent, SourceStat.PREFILTERED)
    no_text = _sum(recent, SourceStat.NO_ARTICLE) + _sum(recent, SourceStat.ANALYSIS_ERRORS)
    if analysed >= policy.min_pages and no_text / analysed >= policy.extraction_share:
        problems.append(Problem(
            "extraction",
            f"no article text in {no_text} of {analysed} pages analysed in the last "
            f"{_runs(len(recent))}"))
    archived = _sum(recent, SourceStat.ARCHIVED)
    undated = _sum(recent, SourceStat.UNDATED)
    if archived >= policy.min_articles and undated / archived >= policy.undated_share:
        problems.append(Problem(
            "undated",
            f"{undated} of {archived} new articles in the last {_runs(len(recent))} "
            f"have no publication date"))
    return problems


def _failing(series: Sequence[Mapping[str, int]], policy: HealthPolicy) -> Problem | None:
    if len(series) < policy.failing_runs:
        return None
    recent, before = series[-policy.failing_runs:], series[:-policy.failing_runs]
    failures = {name: _sum(recent, name) for name in FAILURE_COUNTERS}
    fetched = _sum(recent, SourceStat.FETCHED)
    detail = ", ".join(f"{count} {FAILURE_COUNTERS[name]}"
                       for name, count in failures.items() if count)
    if all(counts.get(SourceStat.FETCHED, 0) == 0 for counts in recent):
        earlier = max((counts.get(SourceStat.FETCHED, 0) for counts in before), default=0)
        if earlier or any(failures.values()):
            was = f" (it used to fetch {earlier})" if earlier else ""
            return Problem("unreachable",
                           f"no page fetched in the last {_runs(len(recent))}{was}"
                           + (f": {detail}" if detail else ""))
        return None
    if all(_failure_share(counts) >= policy.error_share for counts in recent):
        return Problem("failing",
                       f"most requests failed in the last {_runs(len(recent))}: {detail} "
                       f"against {fetched} pages fetched")
    return None


def _stale(series: Sequence[Mapping[str, int]], policy: HealthPolicy) -> Problem | None:
    if len(series) <= policy.stale_runs:
        return None
    recent, before = series[-policy.stale_runs:], series[:-policy.stale_runs]
    if any(counts.get(SourceStat.ARCHIVED, 0) for counts in recent):
        return None
    last_productive = next(
        (counts for counts in reversed(before) if counts.get(SourceStat.ARCHIVED)), None)
    if last_productive is None:
        return None
    return Problem("stale",
                   f"no new articles in the last {_runs(len(recent))} "
                   f"(an earlier run archived {last_productive['archived']})")


def _failure_share(counts: Mapping[str, int]) -> float:
    failed = sum(counts.get(name, 0) for name in FAILURE_COUNTERS)
    total = failed + counts.get(SourceStat.FETCHED, 0)
    return failed / total if total else 0.0


def _sum(series: Iterable[Mapping[str, int]], counter: str) -> int:
    return sum(counts.get(counter, 0) for counts in series)


def _runs(n: int) -> str:
    return "run" if n == 1 else f"{n} runs"
