"""The recorder's decisions, without a network, a store or a clock (``gateway._recording``)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway._recording import (
    PUBLISH_SKEW_MS,
    RECHECK_MS,
    RESUBMIT_AFTER_MS,
    RESUBMIT_MS,
    Confirmation,
    Mark,
    Publication,
    Retirement,
    after_submit,
    confirm_submitted,
    plan_publication,
    plan_retirement,
    recheck_refused,
)

NOW = 1_800_000_000_000


def _publication(**over: object) -> Publication:
    fields: dict[str, object] = {
        "epoch": 3,
        "size": 10,
        "key_shown": True,
        "key_added_here": False,
        "shown_epoch": 2,
        "published_here": -1,
        "expires_at": None,
        "now": NOW,
    }
    fields.update(over)
    return plan_publication(**fields)  # type: ignore[arg-type]


def test_a_new_epoch_is_published_and_a_new_key_registered_once() -> None:
    assert _publication() == Publication(False, True)
    assert _publication(key_shown=False) == Publication(True, True)
    # The replica lags behind what this process submitted: not twice.
    assert _publication(key_shown=False, key_added_here=True) == Publication(False, True)
    assert _publication(published_here=3) == Publication(False, False, "published")
    assert _publication(shown_epoch=4) == Publication(False, False, "published")


def test_empty_and_expiring_lists_are_not_published() -> None:
    assert _publication(epoch=0) == Publication(False, False, "empty")
    assert _publication(size=0, key_shown=False) == Publication(False, False, "empty")
    soon = NOW + PUBLISH_SKEW_MS
    assert _publication(expires_at=soon) == Publication(False, False, "expired")
    assert _publication(expires_at=soon + 1) == Publication(False, True)


def _retirement(**over: object) -> Retirement:
    fields: dict[str, object] = {
        "key_id": "old",
        "published_key_id": "new",
        "published_at": NOW - 61_000,
        "grace_ms": 60_000,
        "unrecorded": 0,
        "active_on_ledger": True,
        "now": NOW,
    }
    fields.update(over)
    return plan_retirement(**fields)  # type: ignore[arg-type]


def test_a_kept_key_is_retired_after_its_grace_and_its_answers() -> None:
    assert _retirement() is Retirement.SUBMIT
    assert _retirement(published_key_id="old") is Retirement.WAIT  # new epoch not out yet
    assert _retirement(published_key_id=None) is Retirement.WAIT
    assert _retirement(published_at=NOW - 59_000) is Retirement.WAIT
    assert _retirement(unrecorded=1) is Retirement.WAIT
    assert _retirement(active_on_ledger=False) is Retirement.DROP


def test_a_submission_becomes_submitted_committed_or_refused() -> None:
    assert after_submit(accepted=True, recorded_height=None, reason="") == Mark("submitted")
    assert after_submit(accepted=False, recorded_height=7, reason="recorded before") == Mark(
        "committed", 7
    )
    refused = after_submit(accepted=False, recorded_height=None, reason="x" * 500)
    assert refused == Mark("refused", reason="x" * 200)


def _confirm(**over: object) -> tuple[Confirmation, Mark | None]:
    fields: dict[str, object] = {
        "tx_height": None,
        "tx_ok": None,
        "tx_reason": "",
        "recorded_height": None,
        "submitted_at": NOW,
        "head_time": NOW,
        "now": NOW,
    }
    fields.update(over)
    return confirm_submitted(**fields)  # type: ignore[arg-type]


def test_a_submitted_receipt_follows_its_block() -> None:
    assert _confirm() == (Confirmation.WAIT, None)
    assert _confirm(tx_height=9, tx_ok=True) == (Confirmation.DONE, Mark("committed", 9))
    assert _confirm(tx_height=9, tx_ok=False, tx_reason="bad") == (
        Confirmation.DONE,
        Mark("refused", 9, "bad"),
    )
    # Refused as a duplicate, or not in a block yet, but recorded by another submission.
    assert _confirm(tx_height=9, tx_ok=False, recorded_height=5) == (
        Confirmation.DONE,
        Mark("committed", 5),
    )
    assert _confirm(recorded_height=5) == (Confirmation.DONE, Mark("committed", 5))


def test_a_lost_submission_is_sent_again() -> None:
    resubmit = (Confirmation.RESUBMIT, Mark("pending"))
    assert _confirm(now=NOW + RESUBMIT_MS) == (Confirmation.WAIT, None)
    assert _confirm(now=NOW + RESUBMIT_MS + 1) == resubmit
    # A block the orderer stamped well after the submission, without it: lost already.
    assert _confirm(head_time=NOW + RESUBMIT_AFTER_MS - 1) == (Confirmation.WAIT, None)
    assert _confirm(head_time=NOW + RESUBMIT_AFTER_MS) == resubmit


def test_a_refusal_is_looked_up_again_for_a_while() -> None:
    assert not recheck_refused(recorded_height=None, refused_at=NOW, now=NOW + RECHECK_MS)
    assert recheck_refused(recorded_height=None, refused_at=NOW, now=NOW + RECHECK_MS + 1)
    assert recheck_refused(recorded_height=3, refused_at=NOW, now=NOW)


@given(
    st.integers(0, 5),
    st.integers(0, 5),
    st.integers(-1, 6),
    st.integers(-1, 6),
    st.booleans(),
    st.booleans(),
)
def test_an_epoch_is_never_published_twice_nor_an_empty_one(
    epoch: int, size: int, shown: int, here: int, key_shown: bool, added: bool
) -> None:
    plan = _publication(
        epoch=epoch,
        size=size,
        shown_epoch=shown,
        published_here=here,
        key_shown=key_shown,
        key_added_here=added,
    )
    if plan.publish:
        assert epoch > max(shown, here) and size > 0
    if plan.register_key:
        assert not key_shown and not added


@pytest.mark.parametrize("tx_ok", [True, False, None])
def test_confirmation_never_loses_a_recorded_receipt(tx_ok: bool | None) -> None:
    decision, mark = _confirm(tx_ok=tx_ok, tx_height=4, recorded_height=4, now=NOW + 10**9)
    assert decision is Confirmation.DONE and mark is not None and mark.state == "committed"
