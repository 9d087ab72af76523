"""The conserved-amount ledger: amounts carried by objects, conserved per asset.

Each object of the machine carries an integer amount (minor units) and the asset it
belongs to (a receivable certificate's root, a tranche, a holding's instrument). The
rules:

- An asset's supply is fixed when it is issued; after that, amount only moves between
  objects of that asset, or leaves through an explicit retirement (redemption) or
  voiding (cancellation of a never-accepted draft). ``issued = Σ live + retired + voided``
  holds after every step; :meth:`Conserved.audit` checks it from state alone.
- A split consumes the parent and creates children whose amounts are each ≥ 1 and sum
  to exactly the parent's amount. A transfer is a split with a new owner on one child.
  Nothing is ever zero or negative, so no split can mint value out of rounding.
- Child ids are ``<asset>.<n>`` with a per-asset counter, deterministic on every replica.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger import ContractError, State
from scenarios.kit._machine import Machine, Obj, Step

__all__ = ["Conserved", "Supply"]


@dataclass(frozen=True, slots=True)
class Supply:
    issued: int
    retired: int
    voided: int
    live: int


class Conserved:
    """Amount bookkeeping for the objects of ``machine`` in ``live_states``.

    Table: ``<contract>.<type>.supply`` (asset → ``{issued, retired, voided, next}``).
    """

    def __init__(
        self,
        machine: Machine,
        live_states: frozenset[str],
        *,
        amount_attr: str = "amount",
        asset_attr: str = "asset",
    ) -> None:
        self.machine = machine
        self.live_states = live_states
        self.amount_attr = amount_attr
        self.asset_attr = asset_attr
        self.supply_table = f"{machine.contract}.{machine.type}.supply"

    @property
    def tables(self) -> frozenset[str]:
        return frozenset({self.supply_table})

    def amount(self, obj: Obj) -> int:
        value = obj.attrs[self.amount_attr]
        assert isinstance(value, int)
        return value

    def asset(self, obj: Obj) -> str:
        value = obj.attrs[self.asset_attr]
        assert isinstance(value, str)
        return value

    def _row(self, state: State, asset: str) -> dict[str, Any]:
        row = state.get(self.supply_table, asset)
        if row is None:
            raise ContractError(f"no asset {asset!r}")
        assert isinstance(row, dict)
        return dict(row)

    def issue(self, state: State, asset: str, amount: int) -> None:
        """Fix the supply of a new asset."""
        if amount < 1:
            raise ContractError("an amount must be at least 1 minor unit")
        if state.get(self.supply_table, asset) is not None:
            raise ContractError(f"asset {asset!r} already exists")
        state.put(
            self.supply_table, asset, {"issued": amount, "retired": 0, "voided": 0, "next": 1}
        )

    def split(
        self,
        step: Step,
        parent: Obj,
        parts: Sequence[tuple[Mapping[str, str], int]],
        *,
        child_state: str,
        drop_parties: Sequence[str] = (),
        drop_attrs: Sequence[str] = (),
    ) -> list[Obj]:
        """Create one child per ``(parties, amount)`` part; the parts sum to the parent.

        Each child copies the parent's parties (the given ones replace theirs; roles in
        ``drop_parties`` are removed), attributes (``drop_attrs`` removed) and document
        hash, and records the parent's id. The caller moves the parent to its consumed
        state by returning it from the effect.
        """
        total = self.amount(parent)
        amounts = [amount for _, amount in parts]
        if not parts or any(a < 1 for a in amounts):
            raise ContractError("every part must be at least 1 minor unit")
        if sum(amounts) != total:
            raise ContractError(f"parts sum to {sum(amounts)}, not the face amount {total}")
        asset = self.asset(parent)
        row = self._row(step.state, asset)
        first = row["next"]
        row["next"] = first + len(parts)
        step.state.put(self.supply_table, asset, row)
        removed: dict[str, None] = dict.fromkeys(drop_parties)
        children = []
        for i, (parties, amount) in enumerate(parts):
            child = parent.evolve(
                state=child_state,
                parties={**removed, **parties},
                attrs={**dict.fromkeys(drop_attrs), self.amount_attr: amount, "parent": parent.id},
            )
            child = Obj(
                f"{asset}.{first + i}",
                child.type,
                child.state,
                0,
                child.parties,
                child.data_hash,
                child.attrs,
            )
            children.append(step.create(self.machine, child))
        return children

    def retire(self, state: State, obj: Obj) -> None:
        """Record ``obj``'s amount as paid out (the caller moves it to a non-live state)."""
        row = self._row(state, self.asset(obj))
        row["retired"] += self.amount(obj)
        state.put(self.supply_table, self.asset(obj), row)

    def void(self, state: State, obj: Obj) -> None:
        """Record ``obj``'s amount as cancelled before it ever circulated."""
        row = self._row(state, self.asset(obj))
        row["voided"] += self.amount(obj)
        state.put(self.supply_table, self.asset(obj), row)

    def totals(self, state: State, asset: str) -> Supply:
        row = self._row(state, asset)
        live = 0
        for obj in self.machine.scan(state, asset):
            if obj.attrs.get(self.asset_attr) == asset and obj.state in self.live_states:
                live += self.amount(obj)
        return Supply(row["issued"], row["retired"], row["voided"], live)

    def audit(self, state: State, asset: str) -> Supply:
        """Check conservation for ``asset`` from state alone; raise if it is broken."""
        supply = self.totals(state, asset)
        if min(supply.issued, supply.retired, supply.voided, supply.live) < 0:
            raise ContractError(f"asset {asset!r} has a negative total: {supply}")
        if supply.live + supply.retired + supply.voided != supply.issued:
            raise ContractError(f"asset {asset!r} is not conserved: {supply}")
        return supply
