"""The registry every riskshare replica starts from: governance and publication."""

from __future__ import annotations

from collections.abc import Iterable

from ledger._contract import Contract, ContractRegistry
from ledger._gov import GOV
from ledger._pub import PUB

__all__ = ["default_registry"]


def default_registry(extra_contracts: Iterable[Contract] = ()) -> ContractRegistry:
    """``gov`` and ``pub``, plus ``extra_contracts`` (credits, scenarios) in order.

    Every replica of one consortium must run the same contracts: a kind a replica does
    not know is refused there, and its state digest then differs from the others'.
    """
    return ContractRegistry([GOV, PUB, *extra_contracts])
