"""Party sets: who holds a role, with what weight, and how many of them must sign.

A role on an object names either one member (``"holder": "bank-a"``) or a
:class:`PartySet` (``"lenders": PartySet(("a", "b", "c"), (50, 30, 20), TWO_THIRDS)``).
A transition that requires the role's signature is satisfied when the members of the
set who signed carry the set's :class:`Quorum` of its total weight:

- :data:`ALL` — every member ("every lender");
- :data:`MAJORITY` — strictly more than half the weight ("a majority");
- :data:`TWO_THIRDS` — at least two thirds of the weight ("66⅔% by commitment");
- any other fraction, strict or not.

The arithmetic is exact (integers cross-multiplied, never a float or a rounded
percentage), so every replica reaches the same decision. Weights are positive integers
(a commitment in minor units, a share in basis points, or 1 for one member one vote),
so :data:`ALL` cannot be met by leaving out a member of weight zero. A single member is
the set of one with quorum :data:`ALL`; the number of co-signatures a step may carry
follows from its objects' party sets (at most :data:`MAX_MEMBERS` each), never from a
fixed constant.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ledger import ContractError, Value
from scenarios.kit._schema import ID_PATTERN

__all__ = ["ALL", "MAJORITY", "MAX_MEMBERS", "TWO_THIRDS", "PartySet", "Quorum"]

# A party set is read on every step that needs it; this bounds the work and the size
# of a body's co-signatures.
MAX_MEMBERS = 64
_MAX_WEIGHT = 10**18


@dataclass(frozen=True, slots=True)
class Quorum:
    """``signed / total ≥ num / den`` (``>`` when ``strict``), compared exactly."""

    num: int
    den: int
    strict: bool = False

    def __post_init__(self) -> None:
        if not (0 <= self.num <= self.den and self.den >= 1):
            raise ContractError("a quorum is a fraction between 0 and 1")
        if self.strict and self.num == self.den:
            raise ContractError("no weight can be strictly more than all of it")

    def reached(self, signed: int, total: int) -> bool:
        if self.strict:
            return signed * self.den > self.num * total
        return signed * self.den >= self.num * total

    def describe(self) -> str:
        if (self.num, self.den, self.strict) == (1, 1, False):
            return "every member"
        if (self.num, self.den, self.strict) == (1, 2, True):
            return "a majority by weight"
        sign = ">" if self.strict else "≥"
        return f"{sign} {self.num}/{self.den} by weight"

    def to_row(self) -> list[Value]:
        return [self.num, self.den, self.strict]

    @classmethod
    def from_row(cls, row: Any) -> Quorum:
        if not (isinstance(row, list) and len(row) == 3):
            raise ContractError("a quorum is [num, den, strict]")
        num, den, strict = row
        if not (_int(num) and _int(den) and isinstance(strict, bool)):
            raise ContractError("a quorum is [num, den, strict]")
        return cls(num, den, strict)


ALL = Quorum(1, 1)
MAJORITY = Quorum(1, 2, strict=True)
TWO_THIRDS = Quorum(2, 3)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class PartySet:
    """Members of one role, their weights, and the quorum a signature of the role needs."""

    members: tuple[str, ...]
    weights: tuple[int, ...]
    quorum: Quorum = ALL

    def __post_init__(self) -> None:
        if not 1 <= len(self.members) <= MAX_MEMBERS:
            raise ContractError(f"a party set has 1 to {MAX_MEMBERS} members")
        if len(self.weights) != len(self.members):
            raise ContractError("a party set needs one weight per member")
        if len(set(self.members)) != len(self.members):
            raise ContractError("a party set names each member once")
        for member in self.members:
            if not isinstance(member, str) or ID_PATTERN.fullmatch(member) is None:
                raise ContractError("a party set's members are member ids")
        for weight in self.weights:
            if not _int(weight) or not 1 <= weight <= _MAX_WEIGHT:
                raise ContractError(f"party weights are integers from 1 to {_MAX_WEIGHT}")

    @classmethod
    def of(cls, member: str) -> PartySet:
        return cls((member,), (1,), ALL)

    @classmethod
    def equal(cls, members: Iterable[str], quorum: Quorum = ALL) -> PartySet:
        """One member, one vote."""
        names = tuple(members)
        return cls(names, (1,) * len(names), quorum)

    @classmethod
    def weighted(cls, weights: Mapping[str, int], quorum: Quorum = ALL) -> PartySet:
        names = tuple(sorted(weights))
        return cls(names, tuple(weights[m] for m in names), quorum)

    @property
    def total(self) -> int:
        return sum(self.weights)

    def weight_of(self, signers: Iterable[str]) -> int:
        signed = set(signers)
        return sum(w for m, w in zip(self.members, self.weights, strict=True) if m in signed)

    def reached(self, signers: Iterable[str]) -> bool:
        return self.quorum.reached(self.weight_of(signers), self.total)

    def unsigned(self, signers: Iterable[str]) -> tuple[str, ...]:
        """Members who have not signed, in the set's order (whom to ask)."""
        signed = set(signers)
        return tuple(m for m in self.members if m not in signed)

    def describe(self, signers: Iterable[str]) -> str:
        return (
            f"{self.quorum.describe()} of {list(self.members)} "
            f"(signed weight {self.weight_of(signers)} of {self.total})"
        )

    def to_row(self) -> dict[str, Value]:
        return {
            "members": list(self.members),
            "weights": list(self.weights),
            "quorum": self.quorum.to_row(),
        }

    @classmethod
    def from_row(cls, row: Any) -> PartySet:
        if not isinstance(row, Mapping) or set(row) != {"members", "weights", "quorum"}:
            raise ContractError("a party set is {members, weights, quorum}")
        members, weights = row["members"], row["weights"]
        if not isinstance(members, list) or not isinstance(weights, list):
            raise ContractError("a party set is {members, weights, quorum}")
        return cls(tuple(members), tuple(weights), Quorum.from_row(row["quorum"]))
