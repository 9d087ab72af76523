"""What the recorder decides, apart from how it reads and submits (sans-IO).

The recorder (``gateway._recorder``) is the driver: it reads the index, the replica and
``gateway.sqlite``, calls these functions with what it read and the time, and carries
out the decision. Nothing here reads a clock, a store or a socket, so every rule below
is unit-tested without a network (``tests/gateway/test_recording.py``).

Rules:

- **Publishing** an index epoch (:func:`plan_publication`): nothing while the list is
  empty or never imported; the OPRF key is registered first if the ledger (or this
  process, since the replica may lag) does not show it; the epoch is published only if
  neither shows it or a later one, and only if the list is not already expired, or about
  to be (within ``PUBLISH_SKEW_MS``: the block would come too late).
- **Retiring** a key kept from a rotation (:func:`plan_retirement`): only once an epoch
  under another key is published for its list, ``grace_ms`` after that, and only when
  every answer made under it is on the ledger (refunds are judged against the key an
  answer named, so its secret is kept until then); a key the ledger shows retired
  already is only dropped.
- **Receipts**: a stored answer the ledger already shows is committed; one submitted
  and accepted is submitted; one refused and not shown recorded is refused
  (:func:`after_submit`). A submitted receipt (:func:`confirm_submitted`) is committed
  or refused as its transaction's block says; committed if the ledger shows it recorded
  by another submission; and sent again if the orderer lost it — ``RESUBMIT_MS`` after
  the submission, or as soon as the replica holds a block stamped ``RESUBMIT_AFTER_MS``
  after it (block times, not heights: a replica catching up applies many old blocks at
  once). A receipt this process saw refused is looked up again for ``RECHECK_MS``: a
  refusal as a duplicate while the replica was catching up means it is recorded.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "PUBLISH_SKEW_MS",
    "RECHECK_MS",
    "RESUBMIT_AFTER_MS",
    "RESUBMIT_MS",
    "Confirmation",
    "Mark",
    "Publication",
    "Retirement",
    "after_submit",
    "confirm_submitted",
    "plan_publication",
    "plan_retirement",
    "recheck_refused",
]

PUBLISH_SKEW_MS = 60_000
RESUBMIT_MS = 30_000
RESUBMIT_AFTER_MS = 5_000
RECHECK_MS = 60_000


@dataclass(frozen=True, slots=True)
class Publication:
    """What to submit for one list type's index epoch."""

    register_key: bool
    publish: bool
    skipped: str = ""  # why nothing is published, for the log ("" when publishing)


def plan_publication(
    *,
    epoch: int,
    size: int,
    key_shown: bool,
    key_added_here: bool,
    shown_epoch: int,
    published_here: int,
    expires_at: int | None,
    now: int,
) -> Publication:
    """One list type: register its key and/or publish its epoch (module docstring)."""
    if epoch == 0 or size == 0:
        return Publication(False, False, "empty")
    register = not key_shown and not key_added_here
    if max(shown_epoch, published_here) >= epoch:
        return Publication(register, False, "published")
    if expires_at is not None and expires_at <= now + PUBLISH_SKEW_MS:
        # Every entry has expired: the next sync empties the list. Publishing it now
        # would claim an in-date list that is not.
        return Publication(register, False, "expired")
    return Publication(register, True)


class Retirement(enum.Enum):
    WAIT = "wait"  # not yet: a later pass decides again
    SUBMIT = "submit"  # retire it on the ledger, then drop its secret
    DROP = "drop"  # the ledger shows it retired already: drop its secret


def plan_retirement(
    *,
    key_id: str,
    published_key_id: str | None,
    published_at: int | None,
    grace_ms: int,
    unrecorded: int,
    active_on_ledger: bool,
    now: int,
) -> Retirement:
    """A key kept from a rotation (module docstring)."""
    if published_key_id is None or published_key_id == key_id:
        return Retirement.WAIT  # the epoch under the new key is not on the ledger yet
    if now - (now if published_at is None else published_at) < grace_ms:
        return Retirement.WAIT
    if unrecorded:
        return Retirement.WAIT  # its answers are recorded first; retired next time round
    return Retirement.SUBMIT if active_on_ledger else Retirement.DROP


@dataclass(frozen=True, slots=True)
class Mark:
    """The state a stored answer moves to (``gateway.sqlite`` ``answered.state``)."""

    state: str  # committed, submitted, refused, pending
    height: int | None = None
    reason: str | None = None


def after_submit(*, accepted: bool, recorded_height: int | None, reason: str) -> Mark:
    """A receipt was submitted: ``accepted`` by the orderer, or refused with ``reason``."""
    if accepted:
        return Mark("submitted")
    if recorded_height is not None:
        return Mark("committed", recorded_height)  # refused as the duplicate it is
    return Mark("refused", reason=reason[:200])


class Confirmation(enum.Enum):
    WAIT = "wait"
    DONE = "done"  # see the accompanying Mark
    RESUBMIT = "resubmit"


def confirm_submitted(
    *,
    tx_height: int | None,
    tx_ok: bool | None,
    tx_reason: str,
    recorded_height: int | None,
    submitted_at: int,
    head_time: int | None,
    now: int,
) -> tuple[Confirmation, Mark | None]:
    """A submitted receipt: ``tx_*`` describe its transaction's block, if the replica
    holds it; ``recorded_height`` is where the ledger shows the receipt recorded."""
    if tx_ok is not True and recorded_height is not None:
        # Recorded by another of our submissions of it (this one was refused as the
        # duplicate, or is still to come and will be).
        return Confirmation.DONE, Mark("committed", recorded_height)
    if tx_ok is not None:
        state = "committed" if tx_ok else "refused"
        return Confirmation.DONE, Mark(state, tx_height, tx_reason or None)
    later_block = head_time is not None and head_time >= submitted_at + RESUBMIT_AFTER_MS
    if now - submitted_at > RESUBMIT_MS or later_block:
        return Confirmation.RESUBMIT, Mark("pending")
    return Confirmation.WAIT, None


def recheck_refused(*, recorded_height: int | None, refused_at: int, now: int) -> bool:
    """Whether to stop looking a refused receipt up (found recorded, or long enough)."""
    return recorded_height is not None or now - refused_at > RECHECK_MS
