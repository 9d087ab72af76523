"""Ed25519 signing and verification for everything the ledger signs.

Keys are `cryptography` ``Ed25519PrivateKey`` objects, and signing goes through it.
Verification goes through libsodium (``crypto_sign_verify_detached`` via ``pysodium``):
on these machines it verifies about twice as fast as OpenSSL's, and signature checks
are the ledger's throughput limit (``bench/ledger_bench.py`` measures both in the same
run). Every replica verifies with the same function, so all of them accept exactly the
same signatures — libsodium's rules are strict: canonical ``S``, canonical public key,
no small-order points.

Both libraries release the GIL while they work, so :class:`BatchVerifier` spreads a
block's signature checks across threads without the cost of shipping bytes to other
processes.

A small cache remembers checks that passed. It stores a fact that cannot go stale
("this key signed these bytes"), so it is only ever a shortcut: the validator checks
signatures carried inside transaction bodies in parallel ahead of time, and the
contract handler that asks again later finds the answer ready.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pysodium
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._errors import LedgerError

__all__ = [
    "BatchVerifier",
    "SignatureError",
    "public_key_bytes",
    "verify_signature",
]

_CACHE_LIMIT = 1 << 14  # a block carries at most ~5,000 signatures
# Messages up to this size are remembered by their bytes (no hashing of our own: bytes
# objects keep their hash, and a block's messages are held by its transactions anyway);
# larger ones by SHA-256, so the cache never pins much memory.
_INLINE_KEY_BYTES = 2048


class SignatureError(LedgerError):
    """A signature does not verify under the key it should."""


_Key = bytes | tuple[bytes, bytes, bytes]
# Two generations: when the newer fills up it becomes the older and the older is
# dropped, so checks made for the block being applied survive the turnover (clearing
# everything at once made the applying thread verify again what the verifier's threads
# had just checked for it).
_verified: set[_Key] = set()
_older: set[_Key] = set()


def _cache_key(public_key: bytes, message: bytes, signature: bytes) -> _Key:
    if (
        type(message) is bytes
        and len(message) <= _INLINE_KEY_BYTES
        and type(public_key) is bytes
        and type(signature) is bytes
    ):
        return (public_key, message, signature)
    return hashlib.sha256(public_key + signature + message).digest()


def _check(public_key: bytes, message: bytes, signature: bytes) -> bool:
    if len(public_key) != 32 or len(signature) != 64:
        return False
    try:
        pysodium.crypto_sign_verify_detached(signature, message, public_key)
    except ValueError:
        return False
    return True


def _known(key: _Key) -> bool:
    return key in _verified or key in _older


def _remember(key: _Key) -> None:
    global _verified, _older
    if len(_verified) >= _CACHE_LIMIT:
        # Threads racing here may lose a generation: that only costs a check again.
        _older, _verified = _verified, set()
    _verified.add(key)


def verify_signature(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Raise :class:`SignatureError` unless ``signature`` is ``public_key``'s over ``message``."""
    key = _cache_key(public_key, message, signature)
    if _known(key):
        return
    if not _check(public_key, message, signature):
        raise SignatureError("signature does not verify")
    _remember(key)


def public_key_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key registered on the ledger for ``key``."""
    return key.public_key().public_bytes_raw()


class BatchVerifier:
    """Checks many signatures at once on a few threads; returns one verdict per item.

    ``workers=0`` checks inline, for tools and for tests that want no threads.
    """

    def __init__(self, workers: int | None = None, min_parallel: int = 64) -> None:
        self._workers = (os.cpu_count() or 1) if workers is None else workers
        self._min_parallel = min_parallel
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def _executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self._workers, thread_name_prefix="ed25519"
                )
            return self._pool

    def verify_many(self, items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        """``items`` are ``(public_key, message, signature)``; passing checks are cached."""
        if self._workers <= 1 or len(items) < self._min_parallel:
            return self._run(items)
        chunk = -(-len(items) // (self._workers * 4))
        parts = [items[i : i + chunk] for i in range(0, len(items), chunk)]
        verdicts: list[bool] = []
        for part in self._executor().map(self._run, parts):
            verdicts.extend(part)
        return verdicts

    def submit(self, items: Sequence[tuple[bytes, bytes, bytes]]) -> Future[list[bool]]:
        """Check ``items`` on one of the threads, in the background (inline if none)."""
        if self._workers <= 1:
            done: Future[list[bool]] = Future()
            done.set_result(self._run(items))
            return done
        return self._executor().submit(self._run, items)

    @staticmethod
    def _run(items: Sequence[tuple[bytes, bytes, bytes]]) -> list[bool]:
        out = []
        for public_key, message, signature in items:
            key = _cache_key(public_key, message, signature)
            if _known(key):
                out.append(True)
            elif _check(public_key, message, signature):
                _remember(key)
                out.append(True)
            else:
                out.append(False)
        return out

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None
