"""Rule-engine guards: declarative checks evaluated on the hypothetical post-state.

A transition's effect is applied to a write overlay first; its rules then look at the
result (the object after the step, the payload, and every table as it would be after
the transaction) and say whether it may stand. Checking the post-state rather than the
request is what lets a rule speak of outcomes ("no child is zero", "the portfolio still
meets the concentration limit") instead of re-deriving them from the request.

Each rule has a severity:

- ``BLOCK``: a violation refuses the transaction; every violated blocking rule is named
  in the one :class:`ledger.ContractError` so the submitter sees all problems at once.
- ``REVIEW``: a violation lets the transaction stand and is recorded on its event as a
  review flag (partial duplicate matches, a term longer than the policy target). This is
  how "raise an alert, never block" is expressed.

Rules are evaluated in declaration order and are pure functions of their input.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from ledger import ContractError, State, TxContext

if TYPE_CHECKING:
    from scenarios.kit._machine import Obj

__all__ = ["Post", "Rule", "Severity", "evaluate"]


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


@dataclass(frozen=True, slots=True)
class Rule:
    """A named predicate over the post-state; ``holds`` returns True when all is well."""

    name: str
    holds: Callable[[Post], bool]
    message: str
    severity: Severity = Severity.BLOCK


def evaluate(rules: Sequence[Rule], post: Post) -> list[str]:
    """Check every rule; raise on blocking violations, return the review flags raised."""
    blocked: list[str] = []
    review: list[str] = []
    for rule in rules:
        if rule.holds(post):
            continue
        if rule.severity is Severity.BLOCK:
            blocked.append(f"{rule.name}: {rule.message}")
        else:
            review.append(rule.name)
    if blocked:
        raise ContractError("; ".join(blocked))
    return review
