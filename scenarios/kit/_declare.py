"""What a scenario declares besides its machines, for ``show`` and the command line.

Everything here is data a scenario module states once; the generated command line
(``cli._scenario``) and the gateway's client (``gateway._scenario_client``) read it.
Nothing here decides a rule of the ledger.

- :class:`Supplies` — the instrument an object's amounts belong to, so ``show``
  reports its conservation (issued, live, and each burn reason).
- :class:`Listing` — a query by type, state and party: "my open alerts"
  (``riskshare tf alerts --open``), with the columns to print.
- :class:`Calculator` — a local computation with the contract's own arithmetic
  (``riskshare scf quote``): typed inputs, named money outputs.
- :class:`Precheck` — a metered look-up of a document against a fingerprint registry,
  registering nothing (``riskshare tf check``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ledger import State
from scenarios.kit._objects import Obj
from scenarios.kit._schema import Schema

if TYPE_CHECKING:
    from scenarios.kit._fingerprints import FingerprintRegistry, SimilarityIndex
    from scenarios.kit._machine import Machine

__all__ = ["Calculator", "Listing", "Precheck", "Supplies"]


@dataclass(frozen=True, slots=True)
class Supplies:
    """Objects of ``machine`` carry amounts of the instrument named by their
    ``instrument_attr`` (a certificate's ``root``); ``show`` reports it as
    ``<instrument_attr>_supply``: issued, live, and each burn reason."""

    machine: Machine
    instrument_attr: str
    reasons: tuple[str, ...] = ()
    amount_attr: str = ""

    def instrument(self, obj: Obj) -> str:
        return obj.id if self.instrument_attr == "id" else str(obj.attrs[self.instrument_attr])

    def audit(self, state: State, instrument: str) -> dict[str, int]:
        """``{issued, live, <reason>...}`` for ``instrument``, conservation checked."""
        from scenarios.kit._holdings import Holdings

        supply = Holdings(self.machine.contract).audit(state, instrument)
        out = {"issued": supply.minted, "live": supply.outstanding}
        for reason in self.reasons:
            out[reason] = supply.burned.get(reason, 0)
        return out


@dataclass(frozen=True, slots=True)
class Listing:
    """``riskshare <scenario> <name> [--<flag>]``: objects of ``machine`` the member is
    a party to; each flag keeps only the states it names; ``key`` names the id column."""

    name: str
    machine: Machine
    help: str
    key: str = "id"
    flags: Mapping[str, frozenset[str]] = field(default_factory=dict)
    columns: Mapping[str, Callable[[Obj], Any]] = field(default_factory=dict)

    def row(self, obj: Obj) -> dict[str, Any]:
        return {self.key: obj.id, **{name: get(obj) for name, get in self.columns.items()}}


@dataclass(frozen=True, slots=True)
class Calculator:
    """``riskshare <scenario> <name> --input ...``: prints ``label amount`` lines."""

    name: str
    help: str
    inputs: Schema
    compute: Callable[[Mapping[str, Any]], Sequence[tuple[str, int]]]
    example: str = ""


@dataclass(frozen=True, slots=True)
class Precheck:
    """``riskshare <scenario> <name>``: the document of ``transition``'s ``field``
    fingerprinted (one metered evaluation), its holders in ``registry`` (and partial
    matches in ``similar``) reported under ``keys`` (reference, member, status)."""

    name: str
    help: str
    transition: str
    field: str
    registry: FingerprintRegistry
    similar: SimilarityIndex | None = None
    keys: tuple[str, str, str] = ("ref", "member", "status")
