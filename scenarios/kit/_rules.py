"""Rule-engine guards: declarative checks evaluated on the hypothetical post-state.

A transaction's legs are applied to a write overlay first; the rules then look at the
result (each leg's object after the step, its payload, and every table as it will be
after the whole transaction) and say whether it may stand. Checking the post-state
rather than the request is what lets a rule speak of outcomes ("no child is zero",
"the portfolio still meets the concentration limit", "both legs settled") instead of
re-deriving them from the request.

Each rule has a severity:

- ``BLOCK``: a violation refuses the transaction; every violated blocking rule is named
  in the one :class:`ledger.ContractError` so the submitter sees all problems at once.
- ``REVIEW``: a violation lets the transaction stand and is recorded on its event as a
  review flag (partial duplicate matches, a term longer than the policy target). This is
  how "raise an alert, never block" is expressed.

A rule may be in force from one contract version to another (``since``, ``until``):
the version in force at the transaction's height decides (``_versions``). Whole-machine
:class:`Invariant`\\ s are declared once on the machine and checked on every leg of it
(``_catalogue.trigger_first``: once a trigger holds, the next step must be the trigger).
Rules are evaluated in declaration order and are pure functions of their input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import Enum
from typing import TYPE_CHECKING, Any

from ledger import ContractError, State, TxContext
from scenarios.kit._dates import day_of

if TYPE_CHECKING:
    from scenarios.kit._objects import Obj

__all__ = ["Invariant", "Post", "Rule", "Severity", "evaluate", "in_force"]


class Severity(Enum):
    BLOCK = "block"
    REVIEW = "review"


@dataclass(frozen=True, slots=True)
class Post:
    """What a rule sees: the object before and after, the payload, and the post-state."""

    before: Obj
    after: Obj
    payload: Mapping[str, Any]
    ctx: TxContext
    state: State
    transition: str = ""

    @property
    def today(self) -> date:
        return day_of(self.ctx.block_time)

    @property
    def params(self) -> Mapping[str, Any]:
        """The object's rule parameters in force after the step (``_catalogue``)."""
        rules = self.after.attrs.get("rules")
        return rules["params"] if isinstance(rules, Mapping) else {}


def in_force(since: int, until: int, version: int) -> bool:
    return since <= version and (until == 0 or version <= until)


@dataclass(frozen=True, slots=True)
class Rule:
    """A named predicate over the post-state; ``holds`` returns True when all is well."""

    name: str
    holds: Callable[[Post], bool]
    message: str
    severity: Severity = Severity.BLOCK
    since: int = 1
    until: int = 0


@dataclass(frozen=True, slots=True)
class Invariant:
    """A rule of the whole machine, checked on every leg that moves one of its objects."""

    name: str
    holds: Callable[[Post], bool]
    message: str
    since: int = 1
    until: int = 0

    def as_rule(self) -> Rule:
        return Rule(self.name, self.holds, self.message, Severity.BLOCK, self.since, self.until)


def evaluate(rules: Sequence[Rule], post: Post, version: int = 1) -> list[str]:
    """Check every rule in force; raise on blocking violations, return review flags."""
    blocked: list[str] = []
    review: list[str] = []
    for rule in rules:
        if not in_force(rule.since, rule.until, version) or rule.holds(post):
            continue
        if rule.severity is Severity.BLOCK:
            blocked.append(f"{rule.name}: {rule.message}")
        else:
            review.append(rule.name)
    if blocked:
        raise ContractError("; ".join(blocked))
    return review
