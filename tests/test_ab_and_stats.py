"""A/B assignment, the significance tests and the dashboard's figures."""

from __future__ import annotations

import math
from collections import Counter

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from streamui.ab import AUTO, assign, choose_strategy
from streamui.dashboard import compare, sections, summarize
from streamui.models import ChatMessage, Conversation, StreamRecord
from streamui.stats import mann_whitney_u, percentile, two_proportion_z
from streamui.svg import gap_histogram_svg, histogram, timeline_svg

ARMS = {"STREAMUI": {"AB_ARMS": {"passthrough": 1, "adaptive": 3}}}


def test_assignment_is_sticky_and_follows_the_weights() -> None:
    with override_settings(**ARMS):
        assert assign("session:abc") == assign("session:abc")
        counts = Counter(assign(f"session:{i}") for i in range(4000))
    assert set(counts) == {"passthrough", "adaptive"}
    assert abs(counts["adaptive"] / 4000 - 0.75) < 0.03


def test_forcing_an_arm_and_defaults() -> None:
    with override_settings(**ARMS):
        forced = choose_strategy("v", "fixed")
        assert (forced.strategy, forced.arm) == ("fixed", "forced:fixed")
        auto = choose_strategy("v", AUTO)
        assert auto.strategy == auto.arm == assign("v")
        with pytest.raises(ValueError, match="unknown smoothing strategy"):
            choose_strategy("v", "nope")
    with override_settings(STREAMUI={"SMOOTHING": "throttle"}):
        assert assign("v") is None
        assert choose_strategy("v").strategy == "throttle" and choose_strategy("v").arm == ""
    with override_settings(STREAMUI={"AB_ARMS": {"bogus": 1}}), pytest.raises(ValueError, match="unknown strategies"):
        assign("v")


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([5], 99) == 5
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile(list(range(101)), 99) == 99


def test_mann_whitney_matches_the_normal_approximation() -> None:
    result = mann_whitney_u([1, 2, 3, 4, 5, 6], [7, 8, 9, 10, 11, 12])
    assert result is not None and result.statistic == 0
    z = -18 / math.sqrt(36 * 13 / 12)
    assert result.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)))
    same = mann_whitney_u([1, 2, 3, 4], [1, 2, 3, 4])
    assert same is not None and same.p_value == pytest.approx(1.0)
    assert mann_whitney_u([1], [2, 3]) is None


def test_two_proportion_z() -> None:
    result = two_proportion_z(30, 100, 10, 100)
    assert result is not None and result.statistic == pytest.approx(3.5355, abs=1e-4)
    assert result.significant
    assert two_proportion_z(5, 50, 5, 50).p_value == pytest.approx(1.0)  # type: ignore[union-attr]
    assert two_proportion_z(0, 0, 1, 2) is None


def test_histogram_bins_and_svg_escape_labels() -> None:
    assert histogram([0, 16, 17, 260, 5000]) == [2, 1, 0, 0, 0, 1, 0, 0, 1]
    svg = str(gap_histogram_svg({"<b>arm</b>": [10, 300]}))
    assert "<b>" not in svg and "&lt;b&gt;arm&lt;/b&gt;" in svg
    assert str(timeline_svg([[0, 0], [100, 10]], [[50, 5], [120, 10]])).count("<path") == 2


def make_record(n: int, strategy: str, arm: str, gaps: list[float], ttft: float, end: str = "done", *,
                mode: str = "chat", profile: str = "stalls") -> StreamRecord:
    message = None
    if mode != "chat":
        message = ChatMessage.objects.create(conversation=Conversation.objects.create(), role="assistant", mode=mode)
    return StreamRecord.objects.create(
        stream_id=f"s{n}", upstream=f"simulated:{profile}", profile=profile, message=message,
        strategy=strategy, arm=arm, started_at=timezone.now(),
        first_visible_token_ms=ttft, reveal_gaps_ms=gaps, completion_delay_ms=10.0 * n, end_reason=end,
        timeline={"arrivals": [[0, 0], [100, 20]], "reveals": [[0, 0], [140, 20]]},
    )


@pytest.mark.django_db
def test_dashboard_figures_per_arm() -> None:
    for i in range(6):
        make_record(i, "passthrough", "passthrough", [20, 30, 2600 if i % 2 else 40], 400 + i,
                    end="stopped" if i == 0 else "done")
    for i in range(6, 12):
        make_record(i, "adaptive", "adaptive", [30, 40, 60], 405 + i)
    summaries = {s.arm: s for s in summarize(StreamRecord.objects.all())}
    assert set(summaries) == {"passthrough", "adaptive"}
    base, adaptive = summaries["passthrough"], summaries["adaptive"]
    assert base.streams == adaptive.streams == 6
    assert base.stall_rate == 0.5 and adaptive.stall_rate == 0
    assert base.stop_rate == pytest.approx(1 / 6)
    assert base.p99_gap is not None and base.p99_gap > 2000
    comparison = compare(list(summaries.values()))[0]
    assert comparison.arm == "adaptive" and comparison.baseline == "passthrough"
    assert comparison.stall_rate is not None and comparison.stall_rate.p_value < 0.05


@pytest.mark.django_db
def test_dashboard_page_shows_both_arms_and_plots() -> None:
    make_record(1, "passthrough", "passthrough", [20, 900], 400)
    make_record(2, "adaptive", "adaptive", [30, 40], 410)
    client = Client()
    with override_settings(STREAMUI={"DASHBOARD_PUBLIC": False}):
        assert client.get("/streamui/dashboard/").status_code == 403
    with override_settings(STREAMUI={"DASHBOARD_PUBLIC": True}):
        page = client.get("/streamui/dashboard/").content.decode()
    assert 'data-arm="passthrough"' in page and 'data-arm="adaptive"' in page
    assert "Reveal gap histogram per arm" in page and "Arrivals versus reveals" in page


@pytest.mark.django_db
def test_forced_and_json_streams_are_kept_out_of_the_randomised_arms() -> None:
    for i in range(4):
        make_record(i, "passthrough", "passthrough", [20, 30], 400)
    make_record(10, "passthrough", "forced:passthrough", [20, 2600], 400)
    make_record(11, "adaptive", "forced:adaptive", [20], 400)
    make_record(12, "throttle", "forced:throttle", [20], 400, mode="json")  # recorded, never applied
    make_record(13, "adaptive", "adaptive", [20], 400, mode="json")
    by = sections(StreamRecord.objects.select_related("message"))
    assert [(s.arm, s.streams) for s in by["experiment"]] == [("passthrough", 4)]
    assert by["experiment"][0].stall_rate == 0  # the self-selected stalled stream is not in the arm
    assert [(s.arm, s.streams) for s in by["forced"]] == [("adaptive", 1), ("passthrough", 1)]
    assert [(s.arm, s.streams) for s in by["not smoothed"]] == [("json output", 2)]


@pytest.mark.django_db
def test_dashboard_filters_by_upstream_profile_and_date_and_explains_the_stall_rate() -> None:
    make_record(1, "passthrough", "passthrough", [20, 900], 400, profile="stalls")
    make_record(2, "adaptive", "adaptive", [30, 40], 410, profile="steady")
    make_record(3, "adaptive", "forced:adaptive", [30, 40], 410, profile="steady")
    client = Client()
    with override_settings(STREAMUI={"DASHBOARD_PUBLIC": True}):
        everything = client.get("/streamui/dashboard/").content.decode()
        steady = client.get("/streamui/dashboard/?profile=steady").content.decode()
        by_upstream = client.get("/streamui/dashboard/?upstream=simulated:stalls").content.decode()
        future = client.get("/streamui/dashboard/?since=2999-01-01").content.decode()
        junk = client.get("/streamui/dashboard/?since=yesterday").status_code
    assert 'data-arm="passthrough"' in everything and 'data-arm="passthrough"' not in steady
    assert 'data-arm="adaptive"' in steady and 'data-arm="adaptive"' not in by_upstream
    assert "From the last 0 streams" in future and junk == 200
    assert "share of streams with at least one stall" in everything
    forced_table = everything.split('data-streamui="forced"')[1].split("</table>")[0]
    arms_table = everything.split('data-streamui="arms"')[1].split("</table>")[0]
    assert 'data-arm="adaptive"' in forced_table and '<td>1</td>' in arms_table.split('data-arm="adaptive"')[1][:80]
    assert "share of gaps" in everything  # the histogram has a y axis
