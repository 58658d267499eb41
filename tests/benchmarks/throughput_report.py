"""Tables and target verdicts for the throughput benchmark (tests/benchmarks/throughput.py)."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

from tests.benchmarks import article_f1
from tests.benchmarks.crawl_run import CrawlMeasurement
from tests.benchmarks.extraction_ceiling import Rate
from tests.benchmarks.process_tree import MB, TreeSample
from tests.benchmarks.synthetic_web import ScaleWeb
from tests.benchmarks.trafilatura_cli import CliMeasurement

WINDOW = 1000
RSS_SETTLED_AFTER = 2000

TARGETS = {
    "b_over_a": 0.8,
    "b_over_c": 2.0,
    "f1_slack": 0.005,
    "last_over_first": 0.9,
    "rss_growth_mb": 100,
    "corpus_rss_mb": 500,
}


def table(title: str, headers: list[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    out = [f"\n{title}", "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)), line]
    for row in cells:
        out.append("  ".join(c.rjust(w) if i else c.ljust(w)
                             for i, (c, w) in enumerate(zip(row, widths, strict=True))))
    return "\n".join(out)


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass
class CorpusResults:
    docs: int
    hosts: int
    ceiling: dict[tuple[str, int], Rate]
    crawls: list[CrawlMeasurement]  # politeness delays off, as the CLI's sleep in (c)
    shipped: list[CrawlMeasurement]  # the product's own politeness defaults
    corpus_pages: list[int]
    shipped_pages: list[int]
    unfiltered: list[CrawlMeasurement]  # politeness off and the topic prefilter off
    unfiltered_pages: list[int]
    cli: list[CliMeasurement]
    f1: dict[str, article_f1.Score]
    intact: int
    replay_checked: int
    replay_matched: int
    origins: dict[str, int]


def corpus_report(r: CorpusResults, processes: int) -> tuple[str, dict[str, float]]:
    out = []
    counts = sorted({1, processes})
    rows = []
    for name, label in (("bare", "bare trafilatura.extract(json, with_metadata)"),
                        ("ours", "product analyse_page (decode+extract+score+hash+pack)"),
                        ("prefiltered", "product analyse_page as a crawl runs it (prefilter)")):
        rows.append([label] + [r.ceiling[(name, n)].docs_per_second for n in counts]
                    + [1000 * r.ceiling[(name, processes)].cpu_per_doc])
    out.append(table(f"(a) Extraction ceiling over {r.docs} pages, docs/s (best of rounds)",
                     ["work"] + [f"{n} proc" for n in counts] + ["CPU ms/doc"], rows))

    best_i = max(range(len(r.crawls)), key=lambda i: r.corpus_pages[i] / r.crawls[i].span)
    crawl, stored = r.crawls[best_i], r.corpus_pages[best_i]
    b_rate = stored / crawl.span
    b_wall = stored / crawl.wall
    peak_rss = max(c.peak_rss for c in r.crawls + r.unfiltered + r.shipped)
    peak_pss = max(c.peak_pss for c in r.crawls + r.unfiltered + r.shipped)
    shipped_rate = max((n / c.span for c, n in zip(r.shipped, r.shipped_pages, strict=True)),
                       default=0.0)
    unfiltered_rate = max((n / c.span for c, n in zip(r.unfiltered, r.unfiltered_pages,
                                                       strict=True)), default=0.0)
    rows = []
    runs = [("", c, n) for c, n in zip(r.crawls, r.corpus_pages, strict=True)] + [
        (", every page extracted", c, n)
        for c, n in zip(r.unfiltered, r.unfiltered_pages, strict=True)] + [
        (", as shipped", c, n) for c, n in zip(r.shipped, r.shipped_pages, strict=True)]
    for i, (kind, c, pages) in enumerate(runs):
        rows.append([f"round {i % len(r.crawls) + 1}{kind}", pages, c.pages,
                     round(c.startup, 2), round(c.span, 2), pages / c.span, c.pages / c.span,
                     pages / c.wall, c.cpu_seconds, c.crawl_cpu,
                     c.crawl_process_cpu, 1000 * c.crawl_cpu / max(1, pages),
                     c.peak_rss / MB, c.peak_pss / MB, c.exit_code])
    out.append(table(
        f"(b) silkroad crawl, {processes} extraction processes, {r.hosts} loopback hosts "
        "(politeness delays off; 'every page extracted': prefilter off too; 'as shipped': "
        "AutoThrottle and DOWNLOAD_DELAY on)",
        ["run", "corpus pages", "all pages", "start-up s", "crawl s", "corpus p/s",
         "all p/s", "wall p/s", "CPU s", "crawl CPU s", "of it crawl process",
         "CPU ms/corpus page", "peak RSS MB", "peak PSS MB", "exit"], rows))
    out.append(f"   archive counts (best round): {crawl.counts}")

    def best(sleep: bool) -> CliMeasurement:
        return max((c for c in r.cli if c.sleep == sleep), key=lambda c: c.pages_in / c.steady_wall)

    best_cli, shipped_cli = best(sleep=False), best(sleep=True)
    c_rate = best_cli.pages_in / best_cli.steady_wall
    c_wall = best_cli.pages_in / best_cli.wall
    c_shipped_rate = shipped_cli.pages_in / shipped_cli.steady_wall
    rows = [[f"round {i // 2 + 1}, {'as shipped' if c.sleep else 'no sleep'}", c.pages_in,
             c.pages_out, round(c.startup, 2), round(c.wall, 2), c.pages_in / c.steady_wall,
             c.pages_in / c.wall, c.cpu_seconds, 1000 * c.cpu_seconds / c.pages_in,
             c.peak_rss / MB]
            for i, c in enumerate(r.cli)]
    out.append(table("(c) trafilatura -i urls.txt --json --with-metadata (SSRF_PROTECTION=off; "
                     "'no sleep': SLEEP_TIME=0, 'as shipped': its 5 s per host)",
                     ["run", "pages", "with text", "start-up s", "wall s", "p/s (no start-up)",
                      "wall p/s", "CPU s", "CPU ms/page", "peak RSS MB"], rows))

    a_bare = r.ceiling[("bare", processes)].docs_per_second
    a_ours = r.ceiling[("ours", processes)].docs_per_second
    b_cpu = crawl.crawl_cpu / stored
    c_cpu = best_cli.cpu_seconds / best_cli.pages_in
    ratios = [
        ["(b) / (a) bare trafilatura, same processes", b_rate / a_bare, b_wall / a_bare,
         r.ceiling[("bare", processes)].cpu_per_doc / b_cpu, f">= {TARGETS['b_over_a']}"],
        ["(b) / (a') product analysis, same processes", b_rate / a_ours, b_wall / a_ours,
         r.ceiling[("ours", processes)].cpu_per_doc / b_cpu, ""],
        ["(b) / (c) trafilatura CLI, like for like (delays off)", b_rate / c_rate,
         b_wall / c_wall, c_cpu / b_cpu, f">= {TARGETS['b_over_c']}"],
        ["(b) / (c) each as shipped (own politeness)", shipped_rate / c_shipped_rate, "", "",
         f">= {TARGETS['b_over_c']}"],
        ["(b) every page extracted / (a) bare trafilatura", unfiltered_rate / a_bare, "", "",
         f">= {TARGETS['b_over_a']}"],
        ["(b) every page extracted / (c) like for like", unfiltered_rate / c_rate, "", "",
         f">= {TARGETS['b_over_c']}"],
    ]
    out.append(table("Ratios (throughput: start-up excluded; wall: included; CPU: pages per "
                     "CPU second, start-up excluded for (a) and (b))",
                     ["ratio", "throughput", "wall clock", "CPU", "target"], ratios))

    rows = [[name, s.precision, s.recall, s.f1, s.empty_predictions] for name, s in r.f1.items()]
    out.append(table(f"(e) Article-body F1 over {r.docs} pages (shingle F1 as evaluate.py)",
                     ["text", "precision", "recall", "F1", "empty"], rows))
    out.append(f"   stored bytes identical to the served file: {r.intact}/{r.docs}; "
               f"text from: {r.origins}; replay equals stored article text: "
               f"{r.replay_matched}/{r.replay_checked}")
    f1 = list(r.f1.values())
    figures = {
        "b_over_a": b_rate / a_bare, "b_over_c": b_rate / c_rate,
        "b_over_c_shipped": shipped_rate / c_shipped_rate,
        "b_every_page_over_a": unfiltered_rate / a_bare,
        "b_every_page_over_c": unfiltered_rate / c_rate,
        "f1_delta": f1[2].f1 - f1[0].f1, "corpus_rss_mb": peak_rss / MB,
        "b_rate": b_rate, "a_rate": a_bare, "c_rate": c_rate, "corpus_pss_mb": peak_pss / MB,
    }
    return "\n".join(out), figures


def scale_report(web_spec: ScaleWeb, crawl: CrawlMeasurement) -> tuple[str, dict[str, float]]:
    times = crawl.fetch_times
    samples = crawl.samples
    sample_times = [s.at for s in samples]

    def at(t: float) -> TreeSample:
        return samples[max(0, min(len(samples) - 1, bisect_right(sample_times, t) - 1))]

    def rss_at(t: float) -> tuple[float, float]:
        return at(t).rss / MB, at(t).pss / MB

    rows, rates = [], []
    for start in range(0, len(times), WINDOW):
        end = min(start + WINDOW, len(times) - 1)
        if end <= start:
            break
        rate = (end - start) / max(1e-9, times[end] - times[start])
        rates.append(rate)
        rss, pss = rss_at(times[end])
        in_window = [s.rss / MB for s in samples if times[start] <= s.at <= times[end]]
        cpu_ms = 1000 * (at(times[end]).cpu - at(times[start]).cpu) / (end - start)
        outcomes = crawl.fetch_outcomes[start:end]
        kept = 100 * outcomes.count("article") / max(1, len(outcomes))
        rows.append([f"{start + 1:,}-{end + (end == len(times) - 1):,}", rate,
                     round(times[end] - times[0], 1), cpu_ms, round(kept), rss,
                     max(in_window, default=rss), pss])
    out = [table(f"(d) Scale: {len(times):,} pages fetched, pages/s per {WINDOW:,}-page window",
                 ["pages", "pages/s", "elapsed s", "CPU ms/page", "% on topic",
                  "RSS MB at end", "max RSS MB", "PSS MB at end"], rows)]
    settled_at = times[min(RSS_SETTLED_AFTER, len(times)) - 1]
    settled = rss_at(settled_at)[0]
    later = [s.rss / MB for s in samples if s.at >= settled_at]
    growth = max(later, default=settled) - settled
    pss_settled = rss_at(settled_at)[1]
    pss_growth = max((s.pss / MB for s in samples if s.at >= settled_at), default=pss_settled) \
        - pss_settled
    out.append(
        f"   web: {web_spec.pages:,} pages, {web_spec.articles:,} articles "
        f"({web_spec.on_topic:,} on topic, {web_spec.exact_copies:,} exact copies, "
        f"{web_spec.near_copies:,} near-copies); archive counts: {crawl.counts}\n"
        f"   crawl {crawl.span:.0f} s (start-up {crawl.startup:.1f} s), wall {crawl.wall:.0f} s, "
        f"CPU {crawl.cpu_seconds:.0f} s ({crawl.cpu_seconds / crawl.wall:.2f} cores), "
        f"peak RSS {crawl.peak_rss / MB:.0f} MB, peak PSS {crawl.peak_pss / MB:.0f} MB, "
        f"exit {crawl.exit_code}\n"
        f"   RSS after {RSS_SETTLED_AFTER:,} pages {settled:.0f} MB, growth after that "
        f"{growth:.0f} MB (PSS {pss_growth:+.0f} MB); last/first window "
        f"{rates[-1] / rates[0]:.2f}; mean {len(times) / (times[-1] - times[0]):.1f} pages/s")
    figures = {"last_over_first": rates[-1] / rates[0], "rss_growth_mb": growth,
               "first_window": rates[0], "last_window": rates[-1]}
    return "\n".join(out), figures


def verdicts(corpus: dict[str, float] | None, scale: dict[str, float] | None) -> str:
    rows = []

    def check(name: str, value: float, ok: bool, target: str) -> None:
        rows.append([name, value, target, "PASS" if ok else "MISS"])

    if corpus:
        check("(b)/(a) crawl vs bare trafilatura", corpus["b_over_a"],
              corpus["b_over_a"] >= TARGETS["b_over_a"], f">= {TARGETS['b_over_a']}")
        check("(b)/(c) vs trafilatura CLI, like for like", corpus["b_over_c"],
              corpus["b_over_c"] >= TARGETS["b_over_c"], f">= {TARGETS['b_over_c']}")
        check("(b)/(c) vs trafilatura CLI, each as shipped", corpus["b_over_c_shipped"],
              corpus["b_over_c_shipped"] >= TARGETS["b_over_c"], f">= {TARGETS['b_over_c']}")
        check("  the same, every page extracted: (b)/(a)", corpus["b_every_page_over_a"],
              corpus["b_every_page_over_a"] >= TARGETS["b_over_a"], f">= {TARGETS['b_over_a']}")
        check("  the same, every page extracted: (b)/(c)", corpus["b_every_page_over_c"],
              corpus["b_every_page_over_c"] >= TARGETS["b_over_c"], f">= {TARGETS['b_over_c']}")
        check("(e) F1 pipeline - F1 trafilatura", corpus["f1_delta"],
              corpus["f1_delta"] >= -TARGETS["f1_slack"], f">= -{TARGETS['f1_slack']}")
        check("peak RSS of the corpus crawl, MB", corpus["corpus_rss_mb"],
              corpus["corpus_rss_mb"] < TARGETS["corpus_rss_mb"], f"< {TARGETS['corpus_rss_mb']}")
    if scale:
        check("(d) last / first window pages/s", scale["last_over_first"],
              scale["last_over_first"] >= TARGETS["last_over_first"],
              f">= {TARGETS['last_over_first']}")
        check("(d) RSS growth after 2,000 pages, MB", scale["rss_growth_mb"],
              scale["rss_growth_mb"] < TARGETS["rss_growth_mb"], f"< {TARGETS['rss_growth_mb']}")
    return table("Targets", ["figure", "value", "target", "verdict"], rows)
