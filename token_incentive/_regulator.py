"""The regulator's epoch report: per member, what the ledger alone shows (issue 19).

Computed from ``credits`` tables only, so any replica (the regulator's observer node
above all) computes the same report, and each figure can be reconciled with the
member's own statement (``statement``): a member's ``charged`` here is the sum of its
statement's charge lines for the epoch, ``refunded`` of its refund lines.

Per member and epoch t (receipts belong to the epoch of their block):

- ``made`` / ``items_made``: receipts it asked, and their items; ``charged`` their
  charges (refunded ones included: the charge line stays on the statement, the refund
  is a line of its own), ``refunded`` the refunds of those receipts;
- ``served`` / ``items_served``: receipts it answered, and their items;
- ``hits_reported``: hits it reported on its receipts of t; ``hits_received``: hits
  reported on receipts it answered in t;
- ``confirmed`` / ``disputed``: its hits in t it confirmed or disputed explicitly;
- disputes on receipts of t it filed and that were held against it, by status
  (``filed``, ``opened``, ``upheld``, ``rejected``);
- ``watched``: identifiers it watches in t (sizes of its watch evaluations whose term
  covers t, ``credits.watches``; counts only, the latest evaluation per publisher).

No identifier is on the ledger, so none is in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ledger import State
from token_incentive._book import DISPUTES, RECEIPTS
from token_incentive._watch import watches

__all__ = ["MemberEpoch", "regulator_report"]


@dataclass(slots=True)
class MemberEpoch:
    member: str
    epoch: int
    made: int = 0
    items_made: int = 0
    charged: int = 0
    refunded: int = 0
    served: int = 0
    items_served: int = 0
    hits_reported: int = 0
    hits_received: int = 0
    confirmed: int = 0
    disputed: int = 0
    disputes_filed: dict[str, int] = field(default_factory=dict)
    disputes_against: dict[str, int] = field(default_factory=dict)
    watched: int = 0


def regulator_report(state: State, epoch: int) -> list[MemberEpoch]:
    """Every member with activity in ``epoch``, sorted by member id."""
    rows: dict[str, MemberEpoch] = {}

    def of(member: str) -> MemberEpoch:
        return rows.setdefault(member, MemberEpoch(member, epoch))

    in_epoch: set[str] = set()
    for rid, value in state.scan(RECEIPTS):
        r: Any = value
        if not isinstance(r, dict) or r.get("epoch") != epoch:
            continue
        in_epoch.add(str(rid))
        asker, answerer = of(r["querier"]), of(r["responder"])
        asker.made += 1
        asker.items_made += int(r["items"])
        asker.charged += int(r["charge"])
        if r["status"] == "refunded":
            asker.refunded += int(r["charge"])
        answerer.served += 1
        answerer.items_served += int(r["items"])
        hits = r.get("hits") or []
        asker.hits_reported += len(hits)
        answerer.hits_received += len(hits)
        for mark in r.get("hit_state") or []:
            if mark == "c":
                asker.confirmed += 1
            elif mark == "d":
                asker.disputed += 1
    for rid, value in state.scan(DISPUTES):
        d: Any = value
        if str(rid) not in in_epoch or not isinstance(d, dict):
            continue
        status = str(d["status"])
        filed = of(d["filer"]).disputes_filed
        filed[status] = filed.get(status, 0) + 1
        against = of(d["holder"]).disputes_against
        against[status] = against.get(status, 0) + 1
    for w in watches(state):
        if w.epoch <= epoch < w.until:
            of(w.watcher).watched += w.items
    return [rows[m] for m in sorted(rows)]
