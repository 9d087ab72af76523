"""``riskshare lists``: thin commands over the library, with examples in every help."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import app
from cli._lists import app as lists_app
from tests._terminal import run_on_terminal

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]

MAPPING = """
name = "cli"
[columns]
list_type = { const = "marketing_abuse" }
id_type = { const = "phone" }
value = "phone"
evidence_ref = "case"
"""


@pytest.mark.parametrize("command", sorted(c.name or "" for c in lists_app.registered_commands))
def test_every_lists_command_has_an_example(command: str) -> None:
    result = runner.invoke(app, ["lists", command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example:" in result.output


def test_import_sync_status_and_evidence(tmp_path: Path) -> None:
    data = tmp_path / "abuse.csv"
    data.write_text("phone,case\n13800000001,A\n13800000002,B\n12,C\n", encoding="utf-8")
    mapping = tmp_path / "m.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    env = {"RISKSHARE_MEMBER_DATA_DIR": str(tmp_path / "d")}

    refused = runner.invoke(app, ["lists", "import", str(data), "-m", str(mapping)], env=env)
    assert refused.exit_code != 0  # one in three rows is invalid: over the 5 % default
    done = runner.invoke(
        app,
        ["lists", "import", str(data), "-m", str(mapping), "--max-reject-share", "0.5", "--json"],
        env=env,
    )
    assert done.exit_code == 0, done.output
    summary = json.loads(done.output)
    assert (summary["accepted"], summary["rejected"], summary["added"]) == (2, 1, 2)
    assert "13800000001" not in done.output

    synced = runner.invoke(app, ["lists", "sync", "--max-reject-share", "0.5"], env=env)
    assert synced.exit_code == 0, synced.output
    assert "+0 added" in synced.output

    status = runner.invoke(app, ["lists", "status", "--json"], env=env)
    assert status.exit_code == 0, status.output
    (row,) = json.loads(status.output)["lists"]
    assert (row["list_type"], row["entries"], row["index_entries"], row["epoch"]) == (
        "marketing_abuse",
        2,
        2,
        1,
    )
    text = runner.invoke(app, ["lists", "status"], env=env)
    assert "marketing_abuse" in text.output and "source cli" in text.output

    opening = tmp_path / "opening.json"
    opened = runner.invoke(
        app,
        ["lists", "open-evidence", "marketing_abuse", "phone", "-o", str(opening)],
        input="+86 138-0000-0002\n",
        env=env,
    )
    assert opened.exit_code == 0, opened.output
    args = ["lists", "verify-evidence", str(opening), "--root", row["evidence_root"]]
    ok = runner.invoke(app, [*args, "--size", "2"])
    assert ok.exit_code == 0 and "'B'" in ok.output
    wrong_size = runner.invoke(app, [*args, "--size", "3"])
    assert wrong_size.exit_code != 0
    wrong_root = runner.invoke(
        app, ["lists", "verify-evidence", str(opening), "--root", "00" * 32, "--size", "2"]
    )
    assert wrong_root.exit_code != 0


def _riskshare(*args: str) -> list[str]:
    return [sys.executable, "-c", "from cli import main; main()", *args]


def test_import_and_sync_draw_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    rows = 2500
    lines = [f"138{n:08d},case-{n}" for n in range(rows)]
    (tmp_path / "abuse.csv").write_text("phone,case\n" + "\n".join(lines) + "\n")
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    env = {"RISKSHARE_MEMBER_DATA_DIR": str(tmp_path / "d"), "PYTHONPATH": str(ROOT)}

    code, out, screen = run_on_terminal(
        _riskshare("lists", "import", "abuse.csv", "-m", "m.toml"), cwd=tmp_path, env=env
    )
    assert code == 0, out + screen
    assert f"{rows} accepted" in out.replace(",", "")
    # The bar counts rows as they are read and index entries as they change.
    assert re.search(r"abuse\.csv: rows read +2,500", screen), screen[-2000:]
    assert re.search(r"abuse\.csv: index changes +2,500", screen), screen[-2000:]

    (tmp_path / "abuse.csv").write_text("phone,case\n" + "\n".join(lines[:2000]) + "\n")
    code, out, screen = run_on_terminal(
        _riskshare("lists", "sync", "--full"), cwd=tmp_path, env=env
    )
    assert code == 0, out + screen
    assert re.search(r"cli: rows read +2,000", screen), screen[-2000:]
    assert re.search(r"cli: index changes +500", screen), screen[-2000:]

    # --json is for scripts: no bar, even on a terminal.
    code, out, screen = run_on_terminal(
        _riskshare("lists", "sync", "--full", "--json"), cwd=tmp_path, env=env
    )
    assert code == 0, out + screen
    assert json.loads(out)[0]["rows_read"] == 2000
    assert "rows read" not in screen


FRAUD_MAPPING = """
name = "fraud"
[columns]
list_type = { const = "transaction_fraud" }
id_type = { const = "phone" }
value = "phone"
evidence_ref = "case"
"""


def test_status_shows_each_list_types_rejects(tmp_path: Path) -> None:
    # Two sources, one list type each, with known bad rows: 3 in one, 1 in the other.
    abuse = tmp_path / "abuse.csv"
    good = [f"1380000000{n},A{n}" for n in range(8)]
    bad = ["12,X1", "23800000001,X2", "1380000000,X3"]  # short, wrong prefix, 10 digits
    abuse.write_text("phone,case\n" + "\n".join(good[:4] + bad + good[4:]) + "\n")
    fraud = tmp_path / "fraud.csv"
    fraud.write_text("phone,case\n13900000001,F1\n13900000002,F2\n999,F3\n13900000003,F4\n")
    (tmp_path / "abuse.toml").write_text(MAPPING, encoding="utf-8")
    (tmp_path / "fraud.toml").write_text(FRAUD_MAPPING, encoding="utf-8")
    env = {"RISKSHARE_MEMBER_DATA_DIR": str(tmp_path / "d")}
    share = ["--max-reject-share", "0.5", "--json"]
    for data, mapping, rejected in ((abuse, "abuse.toml", 3), (fraud, "fraud.toml", 1)):
        args = ["lists", "import", str(data), "-m", str(tmp_path / mapping), *share]
        done = runner.invoke(app, args, env=env)
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["rejected"] == rejected

    def check() -> None:
        status = runner.invoke(app, ["lists", "status", "--json"], env=env)
        assert status.exit_code == 0, status.output
        rows = {row["list_type"]: row for row in json.loads(status.output)["lists"]}
        assert {name: (r["entries"], r["rejects"]) for name, r in rows.items()} == {
            "marketing_abuse": (8, 3),
            "transaction_fraud": (3, 1),
        }
        text = runner.invoke(app, ["lists", "status"], env=env)
        assert text.exit_code == 0, text.output
        header, *lines = text.output.splitlines()
        assert header.split()[:6] == ["list", "type", "entries", "index", "epoch", "rejects"]
        table = {line.split()[0]: line.split() for line in lines if line.endswith("Z")}
        assert table["marketing_abuse"][1:5] == ["8", "8", "1", "3"]
        assert table["transaction_fraud"][1:5] == ["3", "3", "1", "1"]
        assert "11 rows, 3 rejected" in text.output and "4 rows, 1 rejected" in text.output

    check()
    # A sync reads the same files again: the rejects are the last sync's, not a sum.
    synced = runner.invoke(app, ["lists", "sync", *share], env=env)
    assert synced.exit_code == 0, synced.output
    assert sorted(s["rejected"] for s in json.loads(synced.output)) == [1, 3]
    check()
