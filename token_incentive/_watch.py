"""Watch evaluations: metering a member's watched book (issue 19).

A watcher evaluates its book of identifiers under a responder's OPRF key once, keeps
the outputs, and from then on tests every entry the responder publishes against them
for free, until the key rotates. So an evaluation is priced for the time it buys.

Rules, in order:

1. A watch evaluation is an ordinary VOPRF evaluation whose signed request carries the
   purpose code :data:`WATCH_PURPOSE`. The responder admits it like any query
   (``check_request``: reciprocity, the OPRF key, credit), at the watch charge.
2. Its charge per identifier is ``watch_price · watch_epochs`` (``CreditParams.
   watch_charge``): ``credits.watch_epochs`` epochs paid up front at
   ``credits.watch_price`` per epoch (by default the query price spread over 30
   epochs, rounded up). The parameters keep it at least c_L, so a lookup called a
   watch is never cheaper than a query.
3. A watch receipt is recorded and charged like any answer (post-hoc, by the
   responder); it earns the responder no served credit and takes no hit reports. The
   watcher learns what it paid for from the tags, not from a hit, so a hit reward
   would let a pair mint credit from a watch.
4. Each recorded watch evaluation updates ``credits.watches``
   ``<watcher>/<responder>/<list type>`` → ``{"items", "epoch", "until", "key_id",
   "time"}``: the size of the book evaluated (batches of one key and epoch add up),
   the epoch it was recorded in and the first epoch it no longer covers. Counts only:
   nothing about the book but its size reaches the ledger. The regulator's report
   and the dashboards read it through :func:`watches`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger import State, Value

__all__ = ["WATCHES", "WATCH_PURPOSE", "WatchRow", "record_watch", "watches"]

WATCH_PURPOSE = "watch"
WATCHES = "credits.watches"


@dataclass(frozen=True, slots=True)
class WatchRow:
    """One watcher's latest evaluation of its book against one responder's list."""

    watcher: str
    responder: str
    list_type: str
    items: int  # identifiers evaluated under ``key_id`` in ``epoch``
    epoch: int  # the credits epoch the evaluation was recorded in
    until: int  # the first epoch it no longer pays for
    key_id: Value
    time: int  # block time of the last batch


def record_watch(
    state: State,
    *,
    watcher: str,
    responder: str,
    list_type: str,
    items: int,
    epoch: int,
    watch_epochs: int,
    key_id: Value,
    now: int,
) -> None:
    """Count a recorded watch evaluation in ``credits.watches`` (rule 4)."""
    key = f"{watcher}/{responder}/{list_type}"
    row: Any = state.get(WATCHES, key)
    if isinstance(row, dict) and row.get("key_id") == key_id and row.get("epoch") == epoch:
        items += int(row["items"])
    state.put(
        WATCHES,
        key,
        {
            "items": items,
            "epoch": epoch,
            "until": epoch + watch_epochs,
            "key_id": key_id,
            "time": now,
        },
    )


def watches(state: State, *, watcher: str | None = None) -> list[WatchRow]:
    """Every watcher's latest evaluation per responder and list (or one watcher's)."""
    out = []
    prefix = f"{watcher}/" if watcher is not None else ""
    for key, row in state.scan(WATCHES, prefix):
        if not isinstance(row, dict):
            continue
        who, responder, list_type = str(key).split("/", 2)
        out.append(
            WatchRow(
                who,
                responder,
                list_type,
                int(row["items"]),
                int(row["epoch"]),
                int(row["until"]),
                row["key_id"],
                int(row["time"]),
            )
        )
    return out
