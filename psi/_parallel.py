"""Batched OPRF operations spread over worker processes.

Python runs one thread of libsodium calls at a time, so a batch uses every core only
through processes. A ``WorkerPool`` wraps a ``ProcessPoolExecutor`` started with
``spawn`` (safe beside gRPC threads, which ``fork`` is not). Small batches run inline:
below ``PARALLEL_MIN`` elements, sending them costs more than it saves.

Results do not depend on the pool: the chunk functions in ``_work`` compute exact
shares, and the proof nonce and blinds are drawn here, in the calling process, from the
``rng`` the caller passed in.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

from psi import _group as g
from psi import _oprf as o
from psi import _work as w
from psi._errors import ProtocolError, PsiError

__all__ = [
    "PARALLEL_MIN",
    "WorkerPool",
    "blind_batch",
    "default_pool",
    "evaluate_batch",
    "finalize_batch",
    "index_stream",
    "set_default_pool",
]

PARALLEL_MIN = 256
# A batch is cut into this many chunks per worker, so that a worker slowed down by
# other load on a shared machine leaves less of the batch waiting on it.
_CHUNKS_PER_WORKER = 4
# How often a worker checks that its parent lives: an orphan outlives it by at most this.
_PARENT_POLL_S = 1.0
_T = TypeVar("_T")


def _noop() -> int:
    return os.getpid()


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave when the process that started the pool is gone.

    A killed gateway (SIGKILL, the OOM killer) runs no shutdown code, and its workers
    would live on, orphaned, each holding a copy of the OPRF key material it was sent.
    They block on a queue whose write end they hold themselves, so they never see EOF;
    the parent-death signal fires on the exit of the *thread* that spawned them, which
    may be any caller of ``submit``. Watching the parent id is the one reliable test.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class WorkerPool:
    """Worker processes for OPRF batches; ``processes`` defaults to the usable CPUs."""

    def __init__(self, processes: int | None = None) -> None:
        n = processes or _usable_cpus()
        if n < 1:
            raise PsiError("a worker pool needs at least one process")
        self.processes = n
        self._executor = ProcessPoolExecutor(
            max_workers=n,
            mp_context=get_context("spawn"),
            initializer=_exit_with_parent,
            initargs=(os.getpid(),),
        )

    def warm(self) -> None:
        """Start every worker now rather than on first use (spawning takes ~0.2 s each)."""
        for f in [self._executor.submit(_noop) for _ in range(self.processes)]:
            f.result()

    def cpu_seconds(self) -> float:
        """User + system CPU time the live workers have used (Linux; for metrics and benches)."""
        total = 0
        for pid in list(self._executor._processes or {}):
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def submit(self, fn: Callable[..., _T], *args: Any) -> Future[_T]:
        return self._executor.submit(fn, *args)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


_default: WorkerPool | None = None
_default_set = False
_lock = threading.Lock()


def default_pool() -> WorkerPool | None:
    """The process-wide pool, created on first use; ``None`` on a one-CPU machine."""
    global _default, _default_set
    with _lock:
        if not _default_set:
            _default = WorkerPool() if _usable_cpus() > 1 else None
            _default_set = True
        return _default


def set_default_pool(pool: WorkerPool | None) -> None:
    """Replace the process-wide pool (``None`` runs every batch inline)."""
    global _default, _default_set
    with _lock:
        _default, _default_set = pool, True


class _Default:
    pass


DEFAULT: Any = _Default()


def _resolve(pool: WorkerPool | _Default | None, n: int) -> WorkerPool | None:
    if n < PARALLEL_MIN:
        return None
    if isinstance(pool, _Default):
        return default_pool()
    return pool


def _ranges(n: int, parts: int) -> list[tuple[int, int]]:
    parts = max(1, min(parts, n))
    step = -(-n // parts)
    return [(i, min(i + step, n)) for i in range(0, n, step)]


def _check_batch(n: int) -> None:
    if not 0 < n <= o.MAX_BATCH:
        raise ProtocolError(f"a batch holds 1 to {o.MAX_BATCH} elements, got {n}")


def evaluate_batch(
    key: o.KeyPair,
    blinded: Sequence[bytes],
    rng: g.Rng,
    *,
    pool: WorkerPool | _Default | None = DEFAULT,
) -> tuple[list[bytes], bytes]:
    """Server: VOPRF BlindEvaluate of a batch with one batched DLEQ proof.

    Returns ``(evaluated_elements, proof)``. A malformed or identity blinded element
    raises ``ProtocolError``.
    """
    n = len(blinded)
    _check_batch(n)
    if any(len(e) != g.ELEMENT_BYTES for e in blinded):
        raise ProtocolError("blinded element has the wrong length")
    mode = o.Mode.VOPRF
    seed = o.composite_seed(key.public, mode)
    p = _resolve(pool, n)
    if p is None:
        parts = [w.eval_chunk(key.secret, seed, 0, b"".join(blinded), mode)]
    else:
        futures = [
            p.submit(w.eval_chunk, key.secret, seed, a, b"".join(blinded[a:b]), int(mode))
            for a, b in _ranges(n, _CHUNKS_PER_WORKER * p.processes)
        ]
        parts = [f.result() for f in futures]
    evaluated = [e for d, _ in parts for e in w.split32(d)]
    m = g.IDENTITY
    for _, mp in parts:
        m = g.add(m, mp)
    z = g.scalar_mult(key.secret, m)
    proof = o.prove_composite(key.secret, g.GENERATOR, key.public, m, z, g.random_scalar(rng), mode)
    return evaluated, proof


def blind_batch(
    inputs: Sequence[bytes],
    rng: g.Rng,
    *,
    pool: WorkerPool | _Default | None = DEFAULT,
) -> tuple[list[bytes], list[bytes]]:
    """Client: VOPRF Blind of a batch; returns ``(blinds, blinded_elements)``."""
    n = len(inputs)
    _check_batch(n)
    blinds = [g.random_scalar(rng) for _ in inputs]
    p = _resolve(pool, n)
    mode = int(o.Mode.VOPRF)
    if p is None:
        return blinds, o.blind_with(inputs, blinds, o.Mode.VOPRF)
    futures = [
        p.submit(w.blind_chunk, list(inputs[a:b]), b"".join(blinds[a:b]), mode)
        for a, b in _ranges(n, _CHUNKS_PER_WORKER * p.processes)
    ]
    return blinds, [e for f in futures for e in w.split32(f.result())]


def finalize_batch(
    inputs: Sequence[bytes],
    blinds: Sequence[bytes],
    blinded: Sequence[bytes],
    evaluated: Sequence[bytes],
    proof: bytes,
    public_key: bytes,
    *,
    pool: WorkerPool | _Default | None = DEFAULT,
) -> list[bytes]:
    """Client: verify the batched proof and finalize; ``ProtocolError`` if anything is off."""
    n = len(inputs)
    _check_batch(n)
    if not n == len(blinds) == len(blinded) == len(evaluated):
        raise ProtocolError("evaluated batch does not match the blinded batch")
    if any(len(e) != g.ELEMENT_BYTES for e in evaluated):
        raise ProtocolError("evaluated element has the wrong length")
    g.deserialize_element(public_key)
    o.decode_proof(proof)
    mode = o.Mode.VOPRF
    seed = o.composite_seed(public_key, mode)
    p = _resolve(pool, n)
    args = [
        (
            seed,
            a,
            list(inputs[a:b]),
            b"".join(blinds[a:b]),
            b"".join(blinded[a:b]),
            b"".join(evaluated[a:b]),
            int(mode),
        )
        for a, b in _ranges(n, 1 if p is None else _CHUNKS_PER_WORKER * p.processes)
    ]
    if p is None:
        parts = [w.unblind_chunk(*a) for a in args]
    else:
        parts = [f.result() for f in [p.submit(w.unblind_chunk, *a) for a in args]]
    m = z = g.IDENTITY
    for mp, zp, _ in parts:
        m, z = g.add(m, mp), g.add(z, zp)
    o.verify_composite(g.GENERATOR, public_key, m, z, proof, mode)
    return [x for _, _, outs in parts for x in outs]


def index_stream(
    key: o.KeyPair,
    list_type: str,
    normaliser_version: str,
    labels: bool,
    items: Sequence[w.IndexItem],
    *,
    chunk: int = 2048,
    pool: WorkerPool | _Default | None = DEFAULT,
) -> Iterator[tuple[bytes, bytes, bytes]]:
    """Index build: per chunk of checked entries, yield ``index_chunk``'s packed columns.

    Chunks are yielded in order while later chunks are still being computed, so the
    caller writes one chunk to storage while the workers evaluate the next ones; at
    most two chunks per worker are in flight.
    """
    kid = key.key_id
    p = pool if not isinstance(pool, _Default) else default_pool()
    args = (key.secret, list_type, normaliser_version, kid, labels)
    starts = list(range(0, len(items), chunk))
    if p is None or len(items) < PARALLEL_MIN:
        for a in starts:
            yield w.index_chunk(*args, items[a : a + chunk])
        return
    inflight: list[Future[tuple[bytes, bytes, bytes]]] = []
    starts.reverse()
    while True:
        while len(inflight) < 2 * p.processes and starts:
            a = starts.pop()
            inflight.append(p.submit(w.index_chunk, *args, items[a : a + chunk]))
        if not inflight:
            return
        yield inflight.pop(0).result()
