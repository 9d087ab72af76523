"""What every fuzz target promises, and the pieces the family modules share.

A target takes one byte string and feeds it to decoders. The contract (STYLE rule 8):
each decoder either succeeds or raises its own package's error type; nothing else
escapes. A target catches exactly the error types it names and lets everything else
through, so atheris reports it as a crash with the input that caused it. Targets also
assert what must hold when a decode succeeds (re-encoding gives the same bytes, a
decoded value re-decodes to itself), so a decoder that accepts two encodings of one
value is a crash too.

Family modules (``fuzz_<family>.py``) define ``TARGETS``: each a :class:`Target` with
a ``setup`` run once per process (keys, a ledger, a consortium on disk, under the
scratch directory it is given) that returns the one-input function, and ``seeds`` —
valid encodings built with the real encoders, written to a fresh corpus directory for
every run so they always match the current formats.
"""

from __future__ import annotations

import ast
import functools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FAMILIES", "TRICKY", "OneInput", "Picker", "Target", "vocabulary"]

# One module per decoder family, in the order the suite and tools/fuzz.py run them.
FAMILIES = (
    "ledger_codec",
    "ledger_replica",
    "genesis",
    "contracts",
    "psi_formats",
    "psi_oprf",
    "messages",
    "config",
    "services",
)

OneInput = Callable[[bytes], None]

# Text that parses as something unexpected: non-finite numbers, non-ASCII digits, the
# home directory of nobody, NUL, separators alone, out-of-range ports.
TRICKY = (
    "nan", "-nan", "inf", "-inf", "1e999", "-0", "0x10", "1_000", " 7 ", "²", "١٢", "７",
    "~nosuchuser/x", "~", "a\x00b", ",,", "", " ", "h:", ":1", "[::1]:1", "h:99999",
    "h:-1", "h:²", "true", "yes", "2" * 30,
)  # fmt: skip


_EDGES = ((1 << 63) - 1, 1 << 63, -(1 << 63), (1 << 64) - 1, 1 << 64, 1 << 70)


@dataclass(frozen=True)
class Target:
    """One fuzzed entry point of a family."""

    name: str
    setup: Callable[[Path], OneInput]
    seeds: Callable[[Path], Iterable[bytes]] = field(default=lambda scratch: ())


class Picker:
    """Structured choices from fuzz bytes (a small front end over atheris' provider).

    Written against the provider's interface only, so a target can also be driven by
    plain bytes in the suite's own tests.
    """

    def __init__(self, data: bytes) -> None:
        import atheris

        self._fdp = atheris.FuzzedDataProvider(data)

    def remaining(self) -> int:
        return int(self._fdp.remaining_bytes())

    def bool(self) -> bool:
        return bool(self._fdp.ConsumeBool())

    def int_in(self, low: int, high: int) -> int:
        return int(self._fdp.ConsumeIntInRange(low, high))

    def pick(self, values: Sequence[Any]) -> Any:
        return values[self.int_in(0, len(values) - 1)]

    def blob(self, n: int) -> bytes:
        return bytes(self._fdp.ConsumeBytes(n))

    def text(self, n: int) -> str:
        return str(self._fdp.ConsumeUnicodeNoSurrogates(n))

    def tricky(self) -> str:
        return str(self.pick(TRICKY))

    def rest(self) -> bytes:
        return bytes(self._fdp.ConsumeBytes(self.remaining()))

    def integer(self) -> int:
        """An integer with weight on the edges validators get wrong."""
        kind = self.int_in(0, 5)
        if kind == 0:
            return self.int_in(-2, 2)
        if kind == 1:
            return int(
                self.pick([(1 << 63) - 1, 1 << 63, -(1 << 63), (1 << 64) - 1, 1 << 64, 2**70])
            )
        if kind == 2:
            return self.int_in(0, 10_000)
        if kind == 3:
            return self.int_in(-(1 << 63), (1 << 63) - 1)
        if kind == 4:
            return self.int_in(1_600_000_000_000, 1_900_000_000_000)  # a plausible ms clock
        return self.int_in(-1000, 1 << 20)

    def value(self, words: Sequence[str], blobs: Sequence[bytes], depth: int = 0) -> Any:
        """A CBOR-encodable value: scalars, the vocabulary, known byte strings, nesting."""
        kind = self.int_in(0, 9 if depth < 4 else 6)
        if kind == 0:
            return None
        if kind == 1:
            return self.bool()
        if kind == 2:
            # The ledger's codec refuses integers outside -2^64..2^64-1 (they would need
            # a CBOR bignum tag): keep values encodable, at the edges of that range.
            number = self.integer()
            return number if -(1 << 64) <= number < 1 << 64 else (1 << 64) - 1
        if kind == 3:
            return self.pick(words) if words else self.text(8)
        if kind == 4:
            return self.text(self.int_in(0, 40))
        if kind == 5:
            return self.pick(blobs) if blobs else self.blob(32)
        if kind == 6:
            return self.blob(self.pick([0, 1, 16, 31, 32, 33, 64, self.int_in(0, 100)]))
        if kind in (7, 8):
            return {
                (self.pick(words) if words and self.bool() else self.text(6)): self.value(
                    words, blobs, depth + 1
                )
                for _ in range(self.int_in(0, 6))
            }
        return [self.value(words, blobs, depth + 1) for _ in range(self.int_in(0, 5))]


@functools.cache
def vocabulary(*packages: str) -> tuple[str, ...]:
    """Every short string literal in the named packages' source: field names, kinds,
    actions, status words. Rules compare request fields against these, so choosing
    from them reaches past the first ``if`` far more often than random text does."""
    root = Path(__file__).resolve().parents[2]
    words: set[str] = set()
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            if "_pb" in path.parts or "_etcdpb" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Constant):
                    continue
                value = node.value
                if isinstance(value, bytes) and value.isascii():
                    value = value.decode("ascii")
                if isinstance(value, str) and 0 < len(value) <= 40 and set("\n{").isdisjoint(value):
                    words.add(value)
    return tuple(sorted(words))
