"""The closed set of effects a transition may have (in the spirit of the FINOS CDM's
primitive instructions).

A transition's effect reads state through a :class:`scenarios.kit.View` and returns
instructions from this set; only the transaction engine writes, and only these:

- on the leg's object: :class:`SetState`, :class:`SetParty` (a member or a
  :class:`PartySet`), :class:`SetAttr`, :class:`SetRules` (the object's versioned rule
  parameters) and :class:`Accrue` (interest by day count, into an attribute);
- on holdings (``_holdings``): :class:`Move`, :class:`Mint` and :class:`Burn` (by
  the instrument's issuer), :class:`Lock` and :class:`Release` (for one instruction),
  :class:`Allocate` (pro rata, largest remainder);
- on fingerprint registries (``_fingerprints``): :class:`ClaimFp` and
  :class:`ReleaseFp`;
- :class:`Spawn`: a consequence leg on another object (a split's child, a duplicate
  alert), judged by that object's own machine like any leg of the transaction.

Because every amount moves through these, the kit audits conservation per instrument
for every scenario; because every change to another object is a leg, each is checked
against its own machine's states, roles, signers and rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scenarios.kit._arith import DayCount, Rate
from scenarios.kit._parties import PartySet

if TYPE_CHECKING:
    from scenarios.kit._fingerprints import FingerprintRegistry, SimilarityIndex
    from scenarios.kit._machine import Machine

__all__ = [
    "Accrue",
    "Allocate",
    "Burn",
    "ClaimFp",
    "Lock",
    "Mint",
    "Move",
    "Primitive",
    "Release",
    "ReleaseFp",
    "SetAttr",
    "SetParty",
    "SetRules",
    "SetState",
    "Spawn",
]


@dataclass(frozen=True, slots=True)
class SetState:
    state: str


@dataclass(frozen=True, slots=True)
class SetParty:
    """``role`` is held by a member, a party set, or nobody (None)."""

    role: str
    party: str | PartySet | None


@dataclass(frozen=True, slots=True)
class SetAttr:
    """``key`` takes ``value`` (None deletes it); ``rules`` is reserved to SetRules, and
    ``data_hash`` sets the object's commitment to its documents."""

    key: str
    value: Any


@dataclass(frozen=True, slots=True)
class SetRules:
    """New rule parameters for the object; the kit bumps their version."""

    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Accrue:
    """``attr`` := interest on ``principal`` at ``rate`` from ``start`` to ``end`` (ISO)."""

    attr: str
    principal: int
    rate: Rate
    daycount: DayCount
    start: str
    end: str


@dataclass(frozen=True, slots=True)
class Move:
    """``qty`` of ``instrument`` from ``src`` to ``dst`` (from a lock, if ``instruction``)."""

    qty: int
    instrument: str
    src: str
    dst: str
    instruction: str = ""


@dataclass(frozen=True, slots=True)
class Mint:
    qty: int
    instrument: str
    dst: str


@dataclass(frozen=True, slots=True)
class Burn:
    qty: int
    instrument: str
    src: str
    reason: str = "redeemed"


@dataclass(frozen=True, slots=True)
class Lock:
    qty: int
    instrument: str
    owner: str
    instruction: str


@dataclass(frozen=True, slots=True)
class Release:
    """Give back what ``owner`` locked for ``instruction`` (all of it when qty is None)."""

    instrument: str
    owner: str
    instruction: str
    qty: int | None = None


@dataclass(frozen=True, slots=True)
class Allocate:
    """Move ``qty`` from ``src`` pro rata to ``weights``; the parts go to ``attr`` too."""

    qty: int
    instrument: str
    src: str
    weights: tuple[tuple[str, int], ...]
    attr: str = ""


@dataclass(frozen=True, slots=True)
class ClaimFp:
    """``ref`` becomes the one active holder of ``fps`` (refused when any is held);
    ``similar`` fingerprints join ``index``."""

    registry: FingerprintRegistry
    fps: tuple[bytes, ...]
    ref: str
    similar: tuple[bytes, ...] = ()
    index: SimilarityIndex | None = None


@dataclass(frozen=True, slots=True)
class ReleaseFp:
    registry: FingerprintRegistry
    fps: tuple[bytes, ...]
    ref: str
    similar: tuple[bytes, ...] = ()
    index: SimilarityIndex | None = None


@dataclass(frozen=True, slots=True)
class Spawn:
    """A consequence leg: ``transition`` of ``machine`` on ``object`` with ``payload``."""

    machine: Machine
    object: str
    transition: str
    payload: Mapping[str, Any] = field(default_factory=dict)


Primitive = (
    SetState
    | SetParty
    | SetAttr
    | SetRules
    | Accrue
    | Move
    | Mint
    | Burn
    | Lock
    | Release
    | Allocate
    | ClaimFp
    | ReleaseFp
    | Spawn
)
