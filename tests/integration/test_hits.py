"""The querier's hit reports wait for their receipts, and give up on the ones that never come.

A report names receipts the responders record on their own schedule. It is submitted
once every receipt it names is on the replica; a receipt still missing an hour after
the query is left out (and a report left with nothing is dropped, with nothing sent).
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.integration.conftest import Net, wait


def test_a_report_waits_for_its_receipts_then_drops_what_never_came(net: Net) -> None:
    node = net.nodes["bank-a"]
    local = node.local
    now = time.time_ns() // 1_000_000
    missing = "ab" * 32  # no responder ever recorded this receipt
    fresh = local.queue_hit_report([[missing]], now)
    stale = local.queue_hit_report([[missing]], now - 61 * 60_000)
    height = node.store.height
    node.recorder.report_hits()
    states = {r.id: r.state for s in ("waiting", "dropped") for r in local.hit_reports(s)}
    assert states[fresh] == "waiting"  # its responder may still record it
    assert states[stale] == "dropped"  # given up on: nothing left to report
    assert not [tx for tx in node.store.txs(kind="credits.hits", from_height=height + 1)]
    local.mark_hit_report(fresh, "dropped", reason="test")

    # A real broadcast: bank-a's report names the receipts of both yes-sayers.
    result = net.cli("query", "13600136000", "--json", "--config", net.config("bank-a"))
    assert result.exit_code == 0, result.output
    receipts = [rid for a in json.loads(result.output)["answers"] for rid in a["receipts"]]

    def reported() -> bool:
        rows: list[Any] = [net.row("bank-a", "credits.receipts", rid) for rid in receipts]
        return all(isinstance(r, dict) for r in rows) and any(r["hits"] for r in rows)

    wait(reported)
    hits = {rid: net.row("bank-a", "credits.receipts", rid)["hits"] for rid in receipts}
    # bank-c lists the number, bank-b does not: k = 1 on bank-c's receipt only.
    assert sorted(hits.values(), key=lambda h: h is None) == [[1], None]
