"""The consortium across network namespaces (issue 20, part 4), the short version.

Every party in its own namespace behind a 30 ms round trip: two members, the
orderer and three etcd members, real gateway processes over mutual TLS 1.3, a real
etcd cluster ordering. Queries are answered across the WAN; a member, the orderer
and the etcd leader are partitioned in turn (their link set down) and healed; after
each, every replica is audited. The namespaces are deleted in the fixture's
finaliser, whatever happened. The long version, with figures, is
``python tools/wan_campaign.py --long`` (docs/RELIABILITY.md).

No timing is asserted: latencies are reported, not judged, on a shared machine.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.wan._campaign import SHORT, run_wan
from tests.wan._netns import Network

pytestmark = pytest.mark.slow

# While a party's link is down its queries, or queries to it, find nobody: refused by
# the querier's retries running out. Nothing else may fail.
_PARTITION_FAILURES = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}


@pytest.fixture
def network() -> Iterator[Network]:
    net = Network()
    try:
        yield net
    finally:
        net.close()
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True)
    assert net.hub not in left.stdout, "a namespace outlived its network"


def _phase(report: dict[str, Any], name: str) -> dict[str, Any]:
    phase: dict[str, Any] = next(p for p in report["phases"] if p["phase"] == name)
    audit = phase["audit"]
    assert audit["ok"], (name, audit["problems"])
    assert audit["lost"] == audit["duplicated"] == audit["charged_without_answer"] == 0
    assert audit["heads_equal"] and audit["state_digests_equal"] and audit["chains_verified"]
    assert audit["balances_equal"] and audit["conserved"]
    assert phase["load"]["wrong_verdicts"] == 0, phase["load"]
    assert set(phase["load"]["failures"]) <= _PARTITION_FAILURES, phase["load"]["failures"]
    assert phase["back_in_service"], phase
    return phase


@pytest.mark.timeout(900)
def test_a_consortium_across_namespaces_answers_and_survives_partitions(
    tmp_path: Path, network: Network
) -> None:
    report = run_wan(SHORT, tmp_path, network, say=print)
    print(json.dumps({k: v for k, v in report.items() if k != "phases"}, default=str))

    # Every query across the WAN answered, with the right verdict, alone and broadcast.
    latency = report["latency"]
    assert latency["failed_or_wrong"] == 0
    assert latency["wan"]["broadcast"]["n"] == SHORT.latency_queries
    # The relays really delay: a bare round trip takes at least the configured one.
    assert latency["wan"]["bare_rtt_p50_ms"] >= SHORT.rtt_ms
    assert latency["bare_rtt_after_ms"] >= SHORT.rtt_ms  # back from the no-delay round
    assert report["commit"]["receipt_on_querier_replica"]["n"] == SHORT.commit_samples
    throughput = report["throughput"]
    assert throughput["queries"] > 0 and throughput["failed"] == throughput["wrong_verdicts"] == 0

    member = _phase(report, "member partition")
    # Cut off, its replica stood still; healed, it asked and answered again and caught up.
    assert member["replica_height_when_healed"] < member["orderer_height_when_healed"]

    orderer = _phase(report, "orderer partition")
    assert orderer["no_new_blocks_while_cut"], orderer
    assert orderer["every_member_at_top_and_final"], orderer
    assert orderer["queries_answered_while_cut"] > 0

    etcd = _phase(report, "etcd leader partition")
    assert etcd["new_leader"] != etcd["target"].split()[1]
    assert etcd["etcd_log_matches"]

    assert all(code == 0 for code in report["exit_codes"].values()), report["exit_codes"]
    assert report["ok"]
