"""The command rate's buckets put back after a batch that runs again: exactly as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.engine.limits import CommandRate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_a_batch_run_again_finds_the_buckets_as_they_were_before_it() -> None:
    rate = CommandRate(burst=2, every=timedelta(seconds=6))
    assert rate.allow(1, NOW)  # person 1 has one command left before the batch
    mark = rate.snapshot()
    assert rate.allow(1, NOW)
    assert not rate.allow(1, NOW)
    assert rate.allow(2, NOW) and rate.allow(2, NOW)  # person 2 first seen in the batch
    rate.restore(mark)
    # Run again: the same commands get the same answers.
    assert rate.allow(1, NOW)
    assert not rate.allow(1, NOW)
    assert rate.allow(2, NOW) and rate.allow(2, NOW)
    assert not rate.allow(2, NOW)


def test_a_new_snapshot_starts_from_the_buckets_of_the_batch_that_committed() -> None:
    rate = CommandRate(burst=1, every=timedelta(seconds=6))
    rate.snapshot()
    assert rate.allow(1, NOW)  # committed batch: its spending stays
    mark = rate.snapshot()
    assert not rate.allow(1, NOW + timedelta(seconds=1))
    rate.restore(mark)
    assert not rate.allow(1, NOW + timedelta(seconds=1))  # still spent by the committed batch
    assert rate.allow(1, NOW + timedelta(seconds=6))  # refilled by time
