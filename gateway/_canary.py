"""An observer's canaries: commit, probe, reveal (docs/CREDITS.md, "Canaries").

Canaries catch a responder that lists indiscriminately (harvested or enumerated
identifiers). The observer:

1. makes synthetic canary identifiers and commits to them before planting them
   (``credits.canary_commit``: SHA-256 over ``credits-canary/v1`` {salt, list type,
   id type, normaliser version, normalised value}); the salts and values stay in the
   observer's secrets file (JSON lines, mode 0600), never on the ledger until revealed;
2. plants them where only an indiscriminate lister would pick them up (outside riskshare);
3. probes responders with canary queries through its own gateway (purpose ``canary``:
   recorded, never charged, never rewarded);
4. reveals a canary a responder said yes to (``credits.canary_reveal``: the opening and
   the probe's receipt), which files a ``canary`` dispute against that responder.

Functions here hold no I/O but the secrets file; randomness is passed in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters import normalise
from gateway._errors import GatewayError
from token_incentive import canary_commitment

__all__ = ["Canary", "append_secrets", "load_secrets", "make_canaries", "pick_canary"]

SALT_BYTES = 32


@dataclass(frozen=True, slots=True)
class Canary:
    """One committed canary: the opening the observer keeps secret until it reveals."""

    commitment: bytes
    salt: bytes
    list_type: str
    id_type: str
    normaliser_version: str
    value: str

    @property
    def record(self) -> dict[str, str]:
        return {
            "list_type": self.list_type,
            "id_type": self.id_type,
            "normaliser_version": self.normaliser_version,
            "value": self.value,
        }

    def to_json(self) -> str:
        return json.dumps(
            {"commitment": self.commitment.hex(), "salt": self.salt.hex(), **self.record},
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> Canary:
        try:
            doc = json.loads(text)
            canary = cls(
                commitment=bytes.fromhex(doc["commitment"]),
                salt=bytes.fromhex(doc["salt"]),
                list_type=str(doc["list_type"]),
                id_type=str(doc["id_type"]),
                normaliser_version=str(doc["normaliser_version"]),
                value=str(doc["value"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            raise GatewayError("malformed canary secrets line") from None
        if canary_commitment(canary.salt, canary.record) != canary.commitment:
            raise GatewayError("a canary's salt and record do not open its commitment")
        return canary


def make_canaries(
    list_type: str,
    id_type: str,
    values: Iterable[str],
    normaliser_version: str,
    rng: Callable[[int], bytes],
) -> list[Canary]:
    """Commitments to canary identifiers, normalised as a query would normalise them."""
    out = []
    for value in values:
        normalised = normalise(id_type, value)
        salt = rng(SALT_BYTES)
        record = {
            "list_type": list_type,
            "id_type": id_type,
            "normaliser_version": normaliser_version,
            "value": normalised,
        }
        commitment = canary_commitment(salt, record)
        out.append(Canary(commitment, salt, list_type, id_type, normaliser_version, normalised))
    if len({c.commitment for c in out}) != len(out):
        raise GatewayError("canary commitments must be distinct")
    return out


def append_secrets(path: Path, canaries: Sequence[Canary]) -> None:
    """Add canaries to the observer's secrets file (created owner-only)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as handle:
        for canary in canaries:
            handle.write(canary.to_json() + "\n")


def load_secrets(path: Path) -> list[Canary]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GatewayError(f"cannot read canary secrets {path}: {exc.strerror}") from None
    return [Canary.from_json(line) for line in lines if line.strip()]


def pick_canary(
    canaries: Sequence[Canary], receipt: Any, value: str | None, committed: Callable[[bytes], bool]
) -> Canary:
    """The canary to reveal for a probe's receipt: same list and id type, still committed
    on the ledger, and the given value when there are several."""
    fits = [
        c
        for c in canaries
        if c.list_type == receipt["list_type"]
        and c.id_type == receipt["id_type"]
        and committed(c.commitment)
    ]
    if value is not None:
        wanted = normalise(receipt["id_type"], value)
        fits = [c for c in fits if c.value == wanted]
    if len(fits) != 1:
        raise GatewayError(
            f"{len(fits)} committed canaries fit this receipt; name the one that hit with --value"
        )
    return fits[0]
