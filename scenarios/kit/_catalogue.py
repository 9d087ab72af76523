"""Rules as versioned data: a parametrised catalogue, and whole-machine invariants.

A custody agreement's limits, a pool's eligibility criteria, a letter of credit's
matching tolerances, a plan's trigger thresholds: these are *data* the parties agree
on, not code. An object keeps them in its ``rules`` attribute,
``{"version": n, "params": {...}}``, checked against its machine's ``rules_schema``.
They change only through a transition whose required signers are every party of the
object (:func:`amend_rules`; the engine refuses a ``SetRules`` anywhere else), and each
change bumps their version, which the object's events record.

The catalogue's rules read those parameters from the post-state, so the same rule code
enforces whatever the parties agreed:

- :func:`limit` / :func:`at_least` — a value at most / at least a parameter;
- :func:`eligible` — a value among a parameter's allowed values;
- :func:`within_tolerance` — a value within a parameter's basis points of a reference
  (document matching: an invoice amount against the credit's amount);
- :func:`matches` — two documents agree on a field;
- :func:`trigger_first` — a whole-machine invariant: once a trigger condition holds
  (a threshold crossed, read from parameters and state), the next step of the object
  must be the trigger transition; nothing can suppress it.

A parameter that is not set is not in force: a limit nobody agreed is no limit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from scenarios.kit._machine import Effect, Transition, View
from scenarios.kit._objects import Obj
from scenarios.kit._primitives import Primitive, SetRules
from scenarios.kit._rules import Invariant, Post, Rule, Severity
from scenarios.kit._schema import Record, Schema

__all__ = [
    "amend_rules",
    "at_least",
    "eligible",
    "limit",
    "matches",
    "trigger_first",
    "within_tolerance",
]

Value = Callable[[Post], Any]


def limit(name: str, value: Value, param: str, severity: Severity = Severity.BLOCK) -> Rule:
    def holds(p: Post) -> bool:
        bound = p.params.get(param)
        return bound is None or value(p) <= bound

    return Rule(name, holds, f"exceeds the agreed limit {param}", severity)


def at_least(name: str, value: Value, param: str, severity: Severity = Severity.BLOCK) -> Rule:
    def holds(p: Post) -> bool:
        bound = p.params.get(param)
        return bound is None or value(p) >= bound

    return Rule(name, holds, f"is below the agreed minimum {param}", severity)


def eligible(name: str, value: Value, param: str, severity: Severity = Severity.BLOCK) -> Rule:
    def holds(p: Post) -> bool:
        allowed = p.params.get(param)
        return allowed is None or value(p) in allowed

    return Rule(name, holds, f"is not among the eligible {param}", severity)


def within_tolerance(
    name: str, value: Value, reference: Value, param_bps: str, severity: Severity = Severity.BLOCK
) -> Rule:
    """``|value − reference| ≤ reference × tolerance / 10 000``, exactly."""

    def holds(p: Post) -> bool:
        tolerance = p.params.get(param_bps)
        if tolerance is None:
            return bool(value(p) == reference(p))
        return bool(abs(value(p) - reference(p)) * 10_000 <= reference(p) * tolerance)

    return Rule(name, holds, f"differs by more than the agreed {param_bps}", severity)


def matches(name: str, left: Value, right: Value, what: str) -> Rule:
    return Rule(name, lambda p: left(p) == right(p), f"the documents disagree on {what}")


def trigger_first(name: str, condition: Callable[[Obj, Post], bool], trigger: str) -> Invariant:
    """Once ``condition`` holds of an object (before a step), that step must be
    ``trigger``: the trigger cannot be suppressed by doing something else first."""

    def holds(p: Post) -> bool:
        if p.before.version == 0 or p.transition == trigger:
            return True
        return not condition(p.before, p)

    return Invariant(name, holds, f"a trigger holds: the next step must be {trigger}")


def _amend(view: View) -> Iterable[Primitive]:
    return (SetRules(view.payload["params"]),)


def amend_rules(
    params: Schema,
    *,
    roles: frozenset[str],
    from_states: frozenset[str],
    name: str = "amend_rules",
    rules: Iterable[Rule] = (),
) -> Transition:
    """The transition that changes an object's rule parameters: any party proposes,
    every role (``roles``, all of the object's) signs, by its party set's quorum."""
    effect: Effect = _amend
    return Transition(
        name,
        from_states,
        from_states,
        roles,
        Schema({"params": Record(params, help="The new rule parameters (JSON).")}),
        effect,
        tuple(rules),
        required_signers=roles,
        help="Change the object's agreed rule parameters; every party signs.",
    )
