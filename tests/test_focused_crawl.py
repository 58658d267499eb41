"""Focused crawling spends a page budget on on-topic articles first."""

from __future__ import annotations

import pytest

from tests.benchmarks.harvest_rate import measure

pytestmark = pytest.mark.slow  # two real crawls of a synthetic web


def test_focused_ordering_beats_breadth_first_under_a_budget() -> None:
    figures = measure(articles=120, share=0.15, budget=40, sections=6)
    # The budget stops the crawl after 40 responses; the one other request in flight then
    # (CONCURRENT_REQUESTS=2) is stored, not thrown away.
    assert figures["focused_fetched"] <= 41 and figures["breadth_fetched"] <= 41
    assert figures["focused_rate"] > 1.5 * figures["breadth_rate"], figures
    assert figures["focused_archived"] >= 0.8 * figures["relevant"], figures
