"""Attack 9, the querier's holes: a responder's certificate not pinned (9a), files of
clear identifiers under the default umask (9b), an identifier only on the command line
(9c).

9a. The server side checks its caller's certificate fingerprint against the ledger; the
querier did not check the responder's. trudy, whose list is on the ledger, serves on
her registered address under a certificate that the consortium CA issued for her but
that is not the one the ledger registers (a mis-issued one, or an old one whose key
leaked). bank-a must refuse to talk to it: not one request reaches that server, and the
answer says why.

9b. ``riskshare lists open-evidence -o``, ``riskshare query --out`` and ``riskshare
dispute evidence --openings-out`` write identifiers in clear: each file is created 0600
even under a umask of 0, and an existing file at the path is replaced, never reused
(whoever holds it open reads nothing new).

9c. ``riskshare query`` also takes identifiers on standard input (``-``, or no VALUE
with standard input not a terminal), where no shell history keeps them.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from cryptography.hazmat.primitives import serialization

from gateway import load_ca
from gateway._pb.riskshare.psi.v1 import psi_pb2_grpc
from gateway._pki import generate_tls_key, issue_member_certificate, private_key_pem
from tests.adversary._world import LIST, World, phones, wait_for

LISTED_BY_B = "13700137000"  # on bank-b's list only
BOTH = "13800138000"  # on bank-a's and bank-b's lists


@dataclass
class Recording(psi_pb2_grpc.PsiServicer):
    """A Psi service that answers nothing and remembers every call that reached it."""

    calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refuse(self, name: str, context: Any) -> Any:
        with self._lock:
            self.calls.append(name)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "recorded")

    def GetCommitment(self, request: Any, context: Any) -> Any:
        return self._refuse("GetCommitment", context)

    def StreamSnapshot(self, request: Any, context: Any) -> Any:
        return self._refuse("StreamSnapshot", context)

    def EvaluateBatch(self, request: Any, context: Any) -> Any:
        return self._refuse("EvaluateBatch", context)

    def BucketQuery(self, request: Any, context: Any) -> Any:
        return self._refuse("BucketQuery", context)


# -- 9a ------------------------------------------------------------------------------------


def test_a_responder_under_a_certificate_the_ledger_does_not_register_is_refused(
    world: World,
) -> None:
    # A certificate the consortium CA issued for trudy, but not the registered one.
    ca = load_ca(world.net.root / "consortium" / "ca")
    key = generate_tls_key()
    rogue = issue_member_certificate(ca, "trudy", key.public_key(), now=dt.datetime.now(dt.UTC))
    rogue_pem = rogue.public_bytes(serialization.Encoding.PEM)
    world.declare_list("trudy", size=2**32)
    service = Recording()
    try:
        with (
            world.signer("trudy").serving(
                service, tls_key_pem=private_key_pem(key), certificate_pem=rogue_pem
            ),
            world.admin("bank-a") as admin,
        ):
            bucket = admin.query(
                LIST, "phone", phones(1, 9300), members=["trudy"], bucket_mode=True
            )
            snapshot = admin.query(LIST, "phone", phones(1, 9301), members=["trudy"])
    finally:
        world.retract_list("trudy")
    assert service.calls == [], f"requests reached the impostor: {service.calls}"
    for reply in (bucket, snapshot):
        (answer,) = reply.answers
        assert answer.error_code == "UNAUTHENTICATED", (answer.error_code, answer.error)
        assert "not the one the ledger registers for trudy" in answer.error, answer.error


# -- 9b and 9c: the command line -------------------------------------------------------------


def _riskshare(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``riskshare ARGS`` in a process of its own, under a umask that hides nothing."""
    return subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        umask=0,
    )


def _private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, f"{path.name} is {mode:04o}"


def _planted(path: Path) -> Any:
    """A world-readable file already at ``path``, held open by someone reading it."""
    path.write_text("planted\n")
    path.chmod(0o644)
    return path.open()


def test_open_evidence_writes_its_opening_0600(world: World, tmp_path: Path) -> None:
    out = tmp_path / "opening.json"
    held = _planted(out)
    data_dir = str(world.net.member("bank-b").data_dir)
    args = ["lists", "open-evidence", LIST, "phone", "--data-dir", data_dir, "-o", str(out)]
    done = _riskshare(*args, stdin=BOTH + "\n")
    assert done.returncode == 0, done.stderr
    _private(out)
    assert json.loads(out.read_text())["value"] == BOTH
    assert held.read() == "planted\n", "the old file was written to"


def test_query_out_is_0600_and_identifiers_come_from_stdin(world: World, tmp_path: Path) -> None:
    config = str(world.net.member("bank-a").config_path)
    out = tmp_path / "results.csv"
    held = _planted(out)
    base = ["query", "--member", "bank-b", "--config", config, "--json"]
    # "-": identifiers on standard input, one per line.
    done = _riskshare(*base, "-", "--out", str(out), stdin=f"{LISTED_BY_B}\n{phones(1, 9400)[0]}\n")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["queried"], result["hits"]) == (2, 1)
    _private(out)
    assert LISTED_BY_B in out.read_text()
    assert held.read() == "planted\n"
    # No VALUE and standard input not a terminal: read from it too.
    implicit = _riskshare(*base, stdin=LISTED_BY_B + "\n")
    assert implicit.returncode == 0, implicit.stderr
    assert json.loads(implicit.stdout)["hits"] == 1
    # Nothing there: a precise error, nothing asked.
    empty = _riskshare(*base, "-", stdin="\n")
    assert empty.returncode == 2 and "no identifier on standard input" in empty.stderr
    usage = _riskshare("query", "--help")
    assert "standard input" in usage.stdout and "riskshare query -" in usage.stdout


def test_dispute_openings_are_written_0600(world: World, tmp_path: Path) -> None:
    config_a = str(world.net.member("bank-a").config_path)
    config_b = str(world.net.member("bank-b").config_path)
    asked = _riskshare("query", BOTH, "--member", "bank-b", "--config", config_a, "--json")
    assert asked.returncode == 0, asked.stderr
    (receipt,) = json.loads(asked.stdout)["answers"][0]["receipts"]

    def reported() -> bool:
        row = world.state_get("credits.receipts", receipt, "bank-b")
        return isinstance(row, dict) and row.get("hits") is not None

    wait_for(reported, 60, "bank-a's hit report on bank-b's replica")
    disputed = _riskshare("feedback", "dispute", receipt, "--hit", "0", "--config", config_a)
    assert disputed.returncode == 0, disputed.stderr

    def filed() -> bool:
        return world.state_get("credits.disputes", receipt, "bank-b") is not None

    wait_for(filed, 60, "the dispute on bank-b's replica")
    out = tmp_path / "openings.jsonl"
    held = _planted(out)
    args = ["dispute", "evidence", receipt, "--openings-out", str(out), "--config", config_b]
    answered = _riskshare(*args, stdin=BOTH + "\n")
    assert answered.returncode == 0, answered.stderr
    _private(out)
    assert json.loads(out.read_text().splitlines()[0])["value"] == BOTH
    assert held.read() == "planted\n"
