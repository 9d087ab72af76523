"""A family that breaks the contract on purpose, so the suite can show that the
harness and runner really report a crash (a fuzzer that cannot fail proves nothing).

Its one target accepts nothing but raises ``ValueError`` — not the package's error —
when the input starts with ``b"boom"``, which its seed does.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from tests.fuzz._harness import OneInput, Target


def _check(data: bytes) -> None:
    if data.startswith(b"boom"):
        raise ValueError("a decoder let a foreign exception escape")


def _setup(scratch: Path) -> OneInput:
    return _check


def _seeds(scratch: Path) -> Iterable[bytes]:
    return [b"boom"]


TARGETS = [Target("escapes", _setup, _seeds)]
