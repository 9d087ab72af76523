"""Contract versions chosen by governance at a height.

A scenario's rules are code compiled into every member's software, and every replica
re-executes history. So that history re-executes under the rules it was made with, a
change of rules is a new *contract version* the software carries next to the old one
(transitions and rules say ``since``/``until``), and the consortium chooses when it
takes effect: the governance parameter ``<contract>.versions`` maps each later version
to the height from which it is in force (``{"2": 1200}``), set like any parameter by a
``gov.propose set_params`` that more than two thirds of the voters approve.

The version in force at height ``h`` is the highest scheduled version whose height is
at most ``h`` (1 when none is). The schedule is read from state at ``h``, so a replica
replaying block ``h`` sees the schedule as it stood then: a version scheduled later, or
for a height already past, cannot change how an earlier block was applied (a past
height takes effect from the block that sets it). A schedule naming a version this
software does not know is refused when proposed, so an upgrade is deployed first and
chosen second.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledger import ContractError, State, Value, param

__all__ = ["contract_version", "schedule_check", "versions_param"]


def versions_param(contract: str) -> str:
    return f"{contract}.versions"


def _schedule(value: Any, contract: str) -> dict[int, int]:
    if not isinstance(value, Mapping):
        raise ContractError(f"{versions_param(contract)} maps versions to heights")
    out: dict[int, int] = {}
    for key, height in value.items():
        if not (isinstance(key, str) and key.isdigit() and int(key) >= 2):
            raise ContractError(f"{versions_param(contract)}: versions are 2, 3, ...")
        if not isinstance(height, int) or isinstance(height, bool) or height < 0:
            raise ContractError(f"{versions_param(contract)}: heights are non-negative")
        out[int(key)] = height
    heights = [out[v] for v in sorted(out)]
    if heights != sorted(heights):
        raise ContractError(f"{versions_param(contract)}: a later version cannot start earlier")
    return out


def contract_version(state: State, contract: str, height: int) -> int:
    """The version of ``contract`` in force at ``height``."""
    value = param(state, versions_param(contract))
    if value is None:
        return 1
    version = 1
    for candidate, start in _schedule(value, contract).items():
        if start <= height and candidate > version:
            version = candidate
    return version


def schedule_check(contract: str, known: Iterable[int]) -> Callable[[Mapping[str, Value]], None]:
    """A ``param_check`` refusing a schedule this software cannot apply."""
    versions = frozenset(known)

    def check(params: Mapping[str, Value]) -> None:
        value = params.get(versions_param(contract))
        if value is None:
            return
        unknown = sorted(set(_schedule(value, contract)) - versions)
        if unknown:
            raise ContractError(
                f"{contract} contract versions {unknown} are not in this software "
                f"(it knows {sorted(versions)}); deploy them before scheduling"
            )

    return check
