"""Governance as the replica holds it: proposals, members, parameters, finality.

A proposal needs approvals from more than two thirds of the *current* voters (active
members of role ``member``); "needed" is recomputed from the current voter count, the
way the ``gov`` contract tallies, and only current voters' approvals are counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway._dashboard._safe import display
from ledger import (
    PROPOSALS,
    Member,
    Store,
    active_members,
    consortium_info,
    final_height,
    params,
    supermajority,
    voters,
)

__all__ = ["GovernanceView", "ProposalRow", "governance_view", "needed_approvals"]


def needed_approvals(total: int) -> int:
    """The smallest approval count that is a supermajority of ``total`` voters."""
    return next((n for n in range(1, total + 1) if supermajority(n, total)), total + 1)


@dataclass(frozen=True, slots=True)
class ProposalRow:
    id: str
    proposer: str
    action: str
    args: Any
    created_height: int
    created_time: int
    expires_at: int
    approvals: tuple[str, ...]
    counted: int
    status: str
    executed_height: int | None


@dataclass
class GovernanceView:
    consortium: str = ""
    normaliser_version: str = ""
    voters: int = 0
    needed: int = 0
    members: list[Member] = field(default_factory=list)
    proposals: list[ProposalRow] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    final_height: int | None = None


def governance_view(store: Store) -> GovernanceView:
    state = store.state()
    info = consortium_info(state) or {}
    current = {m.id for m in voters(state)}
    view = GovernanceView(
        consortium=str(info.get("name", "")),
        normaliser_version=str(info.get("normaliser_version", "")),
        voters=len(current),
        needed=needed_approvals(len(current)),
        members=list(active_members(state)),
        params={k: display(v) for k, v in params(state).items()},
    )
    for _, row in state.scan(PROPOSALS):
        p: Any = row
        approvals = tuple(str(a) for a in p.get("approvals", ()))
        view.proposals.append(
            ProposalRow(
                id=str(p["id"]),
                proposer=str(p["proposer"]),
                action=str(p["action"]),
                args=display(p.get("args")),
                created_height=int(p["created_height"]),
                created_time=int(p["created_time"]),
                expires_at=int(p["expires_at"]),
                approvals=approvals,
                counted=len(set(approvals) & current),
                status=str(p["status"]),
                executed_height=p.get("executed_height"),
            )
        )
    view.proposals.sort(key=lambda r: r.created_height, reverse=True)
    # The ledger's own rule (``ledger.final_height``): checkpoints of the current voters.
    final = final_height(store)
    view.final_height = None if final < 0 else final
    return view
