"""The delivery round's pure parts: backoff, and how much one round may take on under its lease."""

from __future__ import annotations

from datetime import timedelta

from xietong.dataservice.delivery import WebhookOptions, _within_lease, backoff
from xietong.dataservice.subscriptions import matches


def test_backoff_doubles_from_ten_seconds_up_to_an_hour() -> None:
    options = WebhookOptions()
    assert [backoff(options, n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert backoff(options, 30) == timedelta(hours=1)


def test_a_round_takes_no_more_than_its_senders_can_finish_within_the_lease() -> None:
    options = WebhookOptions(timeout_seconds=5, lease=timedelta(seconds=60), concurrency=2)  # 6 per run, 12 in all
    runs = [list(range(i * 100, i * 100 + 10)) for i in range(4)]
    kept = _within_lease(runs, options)
    assert [len(r) for r in kept] == [6, 6]
    assert all(run == runs[i][: len(run)] for i, run in enumerate(kept))  # prefixes: order kept


def test_event_type_filters() -> None:
    assert matches(["*"], "task.completed")
    assert matches(["case.*"], "case.accepted") and not matches(["case.*"], "task.opened")
    assert matches(["task.completed"], "task.completed") and not matches(["task.completed"], "task.claimed")
