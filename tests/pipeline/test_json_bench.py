"""The partial-JSON benchmark's pieces: deterministic realistic documents, sizes, the table."""

from __future__ import annotations

import json

import pytest

from tools.bench.json_bench import format_table, make_document, parse_size, run_bench


@pytest.mark.parametrize("size", [1_000, 10_000, 100_000])
def test_documents_are_valid_deterministic_and_just_over_size(size: int) -> None:
    text = make_document(size)
    assert text == make_document(size)
    assert size <= len(text.encode()) < size * 1.1
    doc = json.loads(text)
    assert set(doc) >= {"answer", "confidence", "sources", "entities", "metadata"}
    assert "\\n" in text and '\\"' in text and any(ord(c) > 127 for c in text)


def test_sizes_parse_in_decimal_units() -> None:
    assert [parse_size(s) for s in ["1KB", "12kb", "1MB", "1500", "0.5MB"]] == [1000, 12000, 1_000_000, 1500, 500_000]
    with pytest.raises(ValueError):
        parse_size("lots")


def test_a_small_run_measures_everything_and_estimates_past_the_budget() -> None:
    report = run_bench([1_000, 10_000], chunk_size=4, budget_s=0.05)
    small, large = report.results
    assert small.chunks == -(-small.chars // 4)
    assert small.ours_s > 0 and small.json_loads_s > 0
    assert not small.reparsers["jiter"].estimated
    assert large.reparsers["partial-json-parser"].estimated  # about 0.4 s: past a 0.05 s budget
    table = format_table(report)
    assert "| 10 KB (" in table and "n/a (quadratic: est." in table
    data = report.to_json()
    assert data["results"][1]["reparsers"]["partial-json-parser"]["estimated"] is True
