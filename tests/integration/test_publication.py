"""What the gateway publishes with each list epoch, and what ``gateway status`` shows.

Each member's ``pub.index`` row carries the evidence root the adapters committed for
the list epoch that became that index epoch, with the tree size equal to the index
size, and the list's expiry: the latest expiry of its entries (every entry of a
``transaction_fraud`` list expires by retention, so the list does). A list whose
entries never expire publishes none. The status shows the backlog of answers not yet
on the ledger.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from adapters import STAGING_FILE, Staging
from cli import app
from gateway._evidence import epoch_evidence, staging_epoch
from gateway._localnet import load_list
from tests.integration.conftest import LISTS, LT, Net


def test_index_epochs_carry_evidence_root_size_and_expiry(net: Net) -> None:
    for member_id in LISTS:
        row: Any = net.row("regulator", "pub.index", f"{member_id}/{LT}")
        with Staging(net.data_dir(member_id) / STAGING_FILE) as staging:
            record = staging_epoch(staging, LT, row["epoch"])
            assert record is not None and record.index_root == row["root"]
            entries = list(staging.current_entries(LT))
        latest = max(e.expires_at for e in entries if e.expires_at is not None)
        assert row["evidence_root"] == record.evidence_root
        # (bank-b may have delisted its canary by now: tests/integration/test_canary.py)
        assert row["size"] == record.size == len(entries) > 0
        assert row["expires_at"] == latest * 1000
        # transaction_fraud keeps an entry five years without an expiry of its own.
        assert row["expires_at"] > (time.time() + 4 * 365 * 86400) * 1000


def test_a_high_risk_entry_without_an_expiry_is_kept_two_years(net: Net) -> None:
    member = net.consortium.members["bank-c"]
    # "closure + 2 years" is the source's to send when it knows the closure date; an entry
    # sent without an expiry is kept two years from listing (psi.LAUNCH_LIST_TYPES, the
    # one definition the genesis and the adapters share; they once disagreed).
    listed = int(time.time())
    load_list(member, [("high_risk_account", "account", "1020|6222000011112222", 1)], source="hra")
    assert net.nodes["bank-c"].recorder.publish() == ["high_risk_account"]
    net.synced()
    row: Any = net.row("bank-a", "pub.index", "bank-c/high_risk_account")
    evidence = epoch_evidence(member.data_dir, "high_risk_account", row["epoch"])
    assert evidence is not None and row["evidence_root"] == evidence.evidence_root
    two_years = 730 * 86400
    assert evidence.expires_at is not None and row["expires_at"] == evidence.expires_at
    assert listed + two_years - 600 <= evidence.expires_at // 1000 <= listed + two_years + 600


def test_status_shows_role_backlog_and_dashboard(net: Net) -> None:
    out = net.ok("gateway", "status", "--json", "--config", net.config("bank-b"))
    status = json.loads(out)
    assert status["role"] == "member"
    backlog = status["backlog"]
    assert set(backlog) == {
        "pending",
        "submitted",
        "refused",
        "committed",
        "oldest_ms",
        "hit_reports",
    }
    assert backlog["committed"] == net.nodes["bank-b"].local.counts().get("committed", 0)
    assert status["dashboard_url"] == ""  # in-process nodes serve no dashboard
    text = net.ok("gateway", "status", "--config", net.config("regulator"))
    assert "regulator (observer)" in text and "backlog    0 answer(s) not yet recorded" in text


def test_lists_take_list_types_and_retention_from_the_ledger(net: Net, tmp_path: Path) -> None:
    """With a replica in the data directory, `riskshare lists` applies gov.list_types: a
    high_risk_account entry without expires_at keeps the ledger's 730 days (the adapters'
    own table keeps it until delisted), and the old variable name still finds the
    directory."""
    data = tmp_path / "hra.csv"
    data.write_text("list_type,id_type,value,reason\nhigh_risk_account,account,1020|62220001,1\n")
    mapping = tmp_path / "hra.toml"
    mapping.write_text(
        'name = "core-hra"\nversion = 1\n\n[columns]\nlist_type = "list_type"\n'
        'id_type = "id_type"\nvalue = "value"\nreason_code = "reason"\n'
    )
    data_dir = net.data_dir("bank-a")
    result = CliRunner().invoke(
        app,
        ["lists", "import", str(data), "--mapping", str(mapping), "--json"],
        env={"RISKSHARE_DATA_DIR": str(data_dir), "RISKSHARE_MEMBER_DATA_DIR": ""},
    )
    assert result.exit_code == 0, (result.output, result.exception)
    assert json.loads(result.output)["accepted"] == 1
    retention = net.row("bank-a", "gov.list_types", "high_risk_account")["retention_days"]
    assert retention == 730
    with Staging(data_dir / STAGING_FILE) as staging:
        (entry,) = staging.current_entries("high_risk_account")
    assert entry.expires_at == entry.listed_at + retention * 86_400
