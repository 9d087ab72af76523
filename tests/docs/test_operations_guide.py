"""The operations guide's quickstart works as written.

Every ``sh`` block under "## Quickstart" in docs/OPERATIONS.md is run, in order, as one
bash script with ``set -euo pipefail``, in a fresh directory, with ``.venv/bin`` first
on ``PATH`` and the guide's loopback ports swapped for free ones. The script starts
real gateway processes (an orderer and two members over mutual TLS), imports lists,
queries one member from the other and stops the gateways. The test then checks:

- the script succeeded, and every ``text`` block of the section (the output the guide
  shows) appears in its standard output, in order;
- the hit and the miss, whatever the blocks say: one listed identifier, one not;
- the two receipts on the orderer's and bank-a's replicas, bank-b's chain a prefix of
  the orderer's, and no identifier in any ledger, gateway state file or log.

Whatever the script leaves running is stopped through its process group, which holds
only processes this test started.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from gateway._localnet import free_ports
from ledger import Store
from tests.docs._guide import blocks, section, subsequence_missing
from tests.docs._tools import DOCS, ROOT

GUIDE = DOCS / "OPERATIONS.md"
VENV_BIN = ROOT / ".venv" / "bin"
GUIDE_PORTS = ["7400", "7401", "7402"]
SCRIPT_TIMEOUT = 420.0
WORKDIR = "riskshare-quickstart"
MEMBERS = ("orderer", "bank-a", "bank-b")
# Everything the quickstart lists or asks about, as typed and as normalised.
IDENTIFIERS = (
    "13912345678",
    "139 1234 5678",
    "13600000000",
    "13700000001",
    "13700000002",
    "11010519491231002X",
    "11010519491231002x",
)


def _script(text: str) -> str:
    shell = blocks(text, "sh")
    assert len(shell) >= 8, "the quickstart lost its shell blocks"
    script = "\n".join(block.body for block in shell)
    ports = sorted(set(re.findall(r"127\.0\.0\.1:(\d+)", script)))
    assert ports == GUIDE_PORTS, f"the quickstart uses ports {ports}; update GUIDE_PORTS"
    for old, new in zip(ports, free_ports(len(ports)), strict=True):
        script = re.sub(rf"127\.0\.0\.1:{old}\b", f"127.0.0.1:{new}", script)
    return "set -euo pipefail\n" + script


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _stop_group(pgid: int) -> None:
    """SIGTERM the script's process group, then SIGKILL whatever is left after a while."""
    if not _group_alive(pgid):
        return
    os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.2)
    if _group_alive(pgid):
        os.killpg(pgid, signal.SIGKILL)


def _diagnostics(work: Path, stderr: str) -> str:
    parts = [f"--- script stderr ---\n{stderr[-4000:]}"]
    for name in MEMBERS:
        log = work / f"{name}.log"
        if log.exists():
            parts.append(f"--- {log.name} ---\n{log.read_text(errors='replace')[-3000:]}")
    return "\n".join(parts)


def _run(tmp_path: Path, script: str) -> tuple[int | None, str, str]:
    path = tmp_path / "quickstart.sh"
    path.write_text(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKSHARE_")}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        process = subprocess.Popen(
            ["bash", str(path)],
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        try:
            code: int | None = process.wait(timeout=SCRIPT_TIMEOUT)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            _stop_group(process.pid)
            if process.poll() is None:
                process.wait()
    return code, out.read_text(errors="replace"), err.read_text(errors="replace")


def _replica_facts(data: Path) -> tuple[int, bytes, list[dict[str, object]]]:
    with Store(data / "ledger.sqlite", create=False) as store:
        head = store.head()
        assert head is not None
        receipts = [row for _, row in store.state().scan("credits.receipts")]
        return store.height, head.hash, receipts  # type: ignore[return-value]


def _block_hash(data: Path, height: int) -> bytes:
    with Store(data / "ledger.sqlite", create=False) as store:
        info = store.block_info(height)
        assert info is not None
        return info.hash


@pytest.mark.timeout(SCRIPT_TIMEOUT + 120)
def test_quickstart_runs_as_written(tmp_path: Path) -> None:
    assert (VENV_BIN / "riskshare").exists(), "no .venv/bin/riskshare: run make test"
    text = section(GUIDE.read_text(encoding="utf-8"), "Quickstart")
    code, stdout, stderr = _run(tmp_path, _script(text))
    work = tmp_path / WORKDIR
    assert code == 0, f"the quickstart failed (exit {code})\n{_diagnostics(work, stderr)}"

    shown = [line for block in blocks(text, "text") for line in block.body.splitlines()]
    missing = subsequence_missing(shown, stdout)
    assert not missing, f"output the guide shows but the run did not print: {missing}\n{stdout}"

    # The outcome itself, independent of what the guide's blocks happen to show.
    flat = " ".join(stdout.split())
    hit = "1 of 1 identifiers queried on transaction_fraud (phone); 1 listed"
    miss = "1 of 1 identifiers queried on transaction_fraud (phone); 0 listed"
    assert hit in flat and "HIT #0: listed by bank-b" in flat, stdout
    assert miss in flat and "exit status 1" in flat, stdout
    assert flat.index(hit) < flat.index(miss)

    data = work / "data"
    height, _, _ = _replica_facts(data / "orderer")
    for member in ("orderer", "bank-a"):
        _, _, held = _replica_facts(data / member)
        assert len(held) == 2, f"{member} holds {len(held)} receipts"
        for row in held:
            assert isinstance(row, dict)
            assert (row["querier"], row["responder"], row["items"]) == ("bank-a", "bank-b", 1)
            assert (row["list_type"], row["id_type"]) == ("transaction_fraud", "phone")
            assert row["purpose"] == "screening"
    b_height, b_head, _ = _replica_facts(data / "bank-b")
    assert b_height <= height and _block_hash(data / "orderer", b_height) == b_head

    # No identifier in what the gateways wrote: ledgers, gateway state, snapshots, logs.
    # (Each member's own staging and index hold its list, by design.)
    written = [p for p in (work / "data").rglob("*") if p.is_file()]
    written = [p for p in written if not p.name.startswith(("lists.sqlite", "index.sqlite"))]
    written += sorted(work.glob("*.log"))
    assert any(p.name == "ledger.sqlite" for p in written)
    for path in written:
        content = path.read_bytes()
        for value in IDENTIFIERS:
            assert value.encode() not in content, f"{value!r} found in {path}"
