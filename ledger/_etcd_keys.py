"""Where the etcd ordering log keeps things in etcd's key space (pure: no I/O).

- Every consortium has its own prefix, `/riskshare/ledger/<namespace>/`, so one etcd
  cluster can order several consortia and an etcd role can confine each to its prefix.
- Block `h` lives at `<prefix>h/<h as 20 decimal digits>`: fixed-width digits make byte
  order height order, so range reads return heights in order.
- `<prefix>floor` holds the compaction floor, the lowest height still kept, in the same
  20-digit form (absent means 0); compares on its value are numeric compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger._etcd_errors import EtcdLogError

__all__ = ["MAX_HEIGHT", "KeyLayout", "check_height", "decode_floor", "encode_height"]

_DIGITS = 20
MAX_HEIGHT = 2**63 - 2  # etcd revisions and our arithmetic stay inside int64
_NAMESPACE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def check_height(height: int) -> None:
    if isinstance(height, bool) or not isinstance(height, int) or not 0 <= height <= MAX_HEIGHT:
        raise EtcdLogError(f"height must be an int in [0, {MAX_HEIGHT}], got {height!r}")


@dataclass(frozen=True, slots=True)
class KeyLayout:
    """Where a consortium's blocks and floor live in etcd's key space."""

    namespace: str

    def __post_init__(self) -> None:
        if not _NAMESPACE.fullmatch(self.namespace):
            raise EtcdLogError(f"namespace must match {_NAMESPACE.pattern}, got {self.namespace!r}")

    @property
    def prefix(self) -> bytes:
        return b"/riskshare/ledger/" + self.namespace.encode() + b"/"

    @property
    def heights_start(self) -> bytes:
        return self.prefix + b"h/"

    @property
    def heights_end(self) -> bytes:
        # The smallest key above every `h/...` key: '/' + 1 is '0'.
        return self.prefix + b"h0"

    @property
    def floor_key(self) -> bytes:
        return self.prefix + b"floor"

    def height_key(self, height: int) -> bytes:
        check_height(height)
        return self.heights_start + encode_height(height)

    def height_of(self, key: bytes) -> int:
        start = self.heights_start
        digits = key[len(start) :]
        if not key.startswith(start) or len(digits) != _DIGITS or not digits.isdigit():
            raise EtcdLogError(f"not a height key of namespace {self.namespace!r}: {key!r}")
        return int(digits)


def encode_height(height: int) -> bytes:
    return b"%020d" % height


def decode_floor(value: bytes | None) -> int:
    """The floor key's value as a height (None: the key does not exist yet, so 0)."""
    if value is None:
        return 0
    if len(value) != _DIGITS or not value.isdigit():
        raise EtcdLogError(f"corrupt floor value in etcd: {value!r}")
    return int(value)
