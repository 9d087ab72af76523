"""psi test fixtures: batches run inline unless a test asks for a worker pool."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from psi import IndexStore, KeyPair, WorkerPool, derive_key_pair
from psi import _parallel as par


@pytest.fixture(autouse=True)
def _inline_batches() -> Iterator[None]:
    # Spawning worker processes costs ~0.2 s each; only tests that exercise the pool
    # (with their own WorkerPool) pay for it. The previous default is restored after.
    saved = (par._default, par._default_set)
    par.set_default_pool(None)
    yield
    par._default, par._default_set = saved


@pytest.fixture(scope="session")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(2) as p:
        yield p


def det_rng(seed: bytes) -> Callable[[int], bytes]:
    """A deterministic byte source (SHA-256 in counter mode), for reproducible tests only."""
    counter = 0

    def rng(n: int) -> bytes:
        nonlocal counter
        out = b""
        while len(out) < n:
            counter += 1
            out += hashlib.sha256(seed + counter.to_bytes(8, "big")).digest()
        return out[:n]

    return rng


@pytest.fixture
def rng() -> Callable[[int], bytes]:
    return det_rng(b"tests/psi")


def key(n: int = 0) -> KeyPair:
    return derive_key_pair(bytes([n]) * 32, b"riskshare tests")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IndexStore]:
    with IndexStore(tmp_path / "index.db", pool=None) as s:
        yield s


def phone(i: int) -> str:
    return f"138{i:08d}"
