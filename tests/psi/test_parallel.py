"""Worker processes change speed, never results: pooled batches equal inline ones bit for bit."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from psi import Entry, IndexStore, ProtocolError, WorkerPool, evaluate_batch, prf_input
from psi import _group as g
from psi import _oprf as o
from psi.hazmat import blind_batch, finalize_batch
from tests.psi.conftest import det_rng, key, phone

LT = "transaction_fraud"
N = 700  # above PARALLEL_MIN, so the pool is used, split across both workers


def test_pooled_batches_equal_inline(pool: WorkerPool) -> None:
    k = key(11)
    inputs = [prf_input(LT, "phone", phone(i)) for i in range(N)]
    blinds, blinded = blind_batch(inputs, det_rng(b"b"), pool=pool)
    assert (blinds, blinded) == blind_batch(inputs, det_rng(b"b"), pool=None)
    evaluated, proof = evaluate_batch(k, blinded, det_rng(b"e"), pool=pool)
    assert (evaluated, proof) == evaluate_batch(k, blinded, det_rng(b"e"), pool=None)
    # The proof assembled from per-worker partial sums is the RFC's proof.
    o.verify_proof(g.GENERATOR, k.public, blinded, evaluated, proof, o.Mode.VOPRF)
    outputs = finalize_batch(inputs, blinds, blinded, evaluated, proof, k.public, pool=pool)
    assert outputs == [o.evaluate(k.secret, x, o.Mode.VOPRF) for x in inputs]
    bad = bytearray(proof)
    bad[3] ^= 1
    with pytest.raises(ProtocolError):
        finalize_batch(inputs, blinds, blinded, evaluated, bytes(bad), k.public, pool=pool)
    # Errors raised inside a worker reach the caller as the same ProtocolError.
    broken = [*evaluated[:-1], bytes(32)]
    with pytest.raises(ProtocolError):
        finalize_batch(inputs, blinds, blinded, broken, proof, k.public, pool=pool)
    with pytest.raises(ProtocolError):
        evaluate_batch(k, [*blinded[:-1], b"\xff" * 32], det_rng(b"e"), pool=pool)


def test_pooled_index_build_with_progress(pool: WorkerPool, tmp_path: Path) -> None:
    entries = [Entry("phone", phone(i), reason=i % 5) for i in range(N)]
    seen: list[tuple[int, int]] = []
    with (
        IndexStore(tmp_path / "a.db", pool=pool) as a,
        IndexStore(tmp_path / "b.db", pool=None) as b,
    ):
        a.create_list(LT, key(12))
        b.create_list(LT, key(12))
        ca = a.apply(LT, entries, now=0, progress=lambda d, t: seen.append((d, t))).commitment
        cb = b.apply(LT, entries, now=0).commitment
        assert ca == cb
        assert a.export_snapshot(LT) == b.export_snapshot(LT)
    assert seen[-1] == (N, N)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


_ORPHAN_PARENT = """
import sys
from psi import WorkerPool

pool = WorkerPool(2)
pool.warm()
print(" ".join(str(p) for p in pool._executor._processes), flush=True)
sys.stdin.read()  # until killed
"""


def test_the_workers_of_a_killed_process_exit_with_it() -> None:
    """A gateway killed with SIGKILL runs no shutdown code; its OPRF workers, which hold
    key material, must not live on as orphans."""
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN_PARENT], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    workers = [int(p) for p in parent.stdout.readline().split()]
    assert len(workers) == 2 and all(_alive(w) for w in workers)
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 60  # a bound on a busy machine, not an expectation
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(w) for w in workers)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
