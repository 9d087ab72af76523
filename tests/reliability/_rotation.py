"""OPRF key rotation under load: a responder rotates while the others keep querying it.

The rotation runs the way an operator would run it beside the live gateway
(``gateway._rotation.rotate_oprf_key`` on the member's data directory, in this
process). Then, with the load still running:

- the new key and epoch must reach every replica (the gateway publishes them itself);
- every other member must get an answer from the rotated member made with the new
  key's snapshot (``epoch`` of the answer at or past the new epoch), i.e. its snapshot
  followed the ledger;
- no query to the rotated member may fail while this happens: the answers it gave
  under the old key (queriers whose replica had not seen the new one) and under the new
  key are counted, failures too (the target is zero).
"""

from __future__ import annotations

import time
from typing import Any

from gateway._demo import LIST
from gateway._rotation import KEY_GRACE_MS, rotate_oprf_key
from ledger import Store
from tests.reliability._cluster import Consortium
from tests.reliability._faults import FaultPlan
from tests.reliability._load import LoadGenerator, QueryRecord

__all__ = ["rotate_under_load"]


def _published(cons: Consortium, member_id: str) -> dict[str, dict[str, Any]]:
    """Each replica's ``pub.index`` row for the member's list."""
    out = {}
    for party in cons.parties:
        with Store(cons.ledger_path(party), create=False) as store:
            row: Any = store.state().get("pub.index", f"{member_id}/{LIST}")
            out[party] = row if isinstance(row, dict) else {}
    return out


def _wait_retired(cons: Consortium, member_id: str, key_id: str, since: float) -> float | None:
    """Seconds from the rotation until every replica shows the old key inactive."""
    deadline = time.monotonic() + KEY_GRACE_MS / 1000 + 60
    while time.monotonic() < deadline:
        inactive = True
        for party in cons.parties:
            with Store(cons.ledger_path(party), create=False) as store:
                row: Any = store.state().get("pub.oprf_keys", f"{member_id}/{key_id}")
                inactive = inactive and isinstance(row, dict) and row.get("active") is False
        if inactive:
            return round(time.monotonic() - since, 1)
        time.sleep(0.5)
    return None


def rotate_under_load(member_id: str, *, wait_retired: bool = False) -> Any:
    def fault(cons: Consortium, load: LoadGenerator, plan: FaultPlan) -> dict[str, Any]:
        load.completed(plan.warmup, plan.recover_timeout)
        before = _published(cons, member_id)[member_id]
        started = time.monotonic()
        rotation = rotate_oprf_key(cons.data_dir(member_id), LIST)
        rotated_at = time.monotonic()
        deadline = rotated_at + plan.recover_timeout
        while time.monotonic() < deadline:
            rows = _published(cons, member_id)
            if all(r.get("key_id") == rotation.new_key_id for r in rows.values()):
                break
            time.sleep(0.1)
        on_ledger_s = time.monotonic() - rotated_at
        others = [m for m in cons.members if m != member_id]

        def followed(records: list[QueryRecord]) -> bool:
            done = set()
            for record in records:
                if record.started < rotated_at or record.querier not in others:
                    continue
                for answer in record.answers:
                    ok = answer.responder == member_id and answer.ok
                    if ok and answer.epoch >= rotation.epoch:
                        done.add(record.querier)
            return done == set(others)

        records = load.wait_for(followed, plan.recover_timeout)
        switched = followed(records)
        if not switched:
            # The load may have run out: ask once more from each querier.
            for other in others:
                load.probe(other, [member_id], plan.recover_timeout)
            switched = followed(load.records)
        during = [
            a
            for r in load.records
            if r.started >= started and r.querier in others
            for a in r.answers
            if a.responder == member_id
        ]
        retired = None
        if wait_retired:
            retired = _wait_retired(cons, member_id, before.get("key_id", ""), rotated_at)
        return {
            "fault": "OPRF key rotation by a responder while it is queried",
            "old_key_retired_after_s": retired,
            "target": member_id,
            "old_key": before.get("key_id", "")[:16],
            "new_key": rotation.new_key_id[:16],
            "epoch": f"{before.get('epoch')} -> {rotation.epoch}",
            "entries_reevaluated": rotation.size,
            "rotate_s": round(rotated_at - started, 2),
            "new_key_on_every_replica_s": round(on_ledger_s, 2),
            "answers_after_rotation": len(during),
            "answers_under_old_epoch": sum(1 for a in during if a.ok and a.epoch < rotation.epoch),
            "answers_failed_after_rotation": sum(1 for a in during if not a.ok),
            "back_in_service": switched and all(a.ok for a in during),
        }

    return fault
