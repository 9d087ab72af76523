"""The governance contract ``gov``: genesis, and changes approved by a supermajority.

Kinds:

- ``gov.genesis`` (height 0 only): creates the consortium from a configuration every
  founder signed (:mod:`ledger._genesis`).
- ``gov.propose`` ``{"action", "args", "expires_at"?}``: opens a proposal whose id is
  the hex transaction id. The proposer's approval counts at once.
- ``gov.approve`` ``{"proposal"}``: adds the sender's approval.
- ``gov.withdraw`` ``{"proposal"}``: the proposer closes an open proposal.

Only voters — active members of role ``member`` (:func:`ledger.voters`) — may propose,
approve or withdraw. A proposal executes in the transaction that brings its approvals
from *current* voters above two thirds of the current voters; approvals from members
who have since left do not count. If executing would break a rule (the member id was
taken meanwhile, the new parameters fail a contract's ``param_check``), that approving
transaction is refused and the proposal stays open. Proposals expire at
``expires_at`` (default: ``gov.proposal_ttl_ms`` after proposing, 7 days when unset);
approvals after that are refused.

The consortium always has an ordering service (:func:`ledger.proposers`): genesis
refuses a configuration with no proposer, and ``set_params`` and ``remove`` refuse a
change that would leave none, since no block could follow it. ``ledger.proposers``,
when set, is a non-empty list of distinct ids of active members of role ``orderer`` or
``member`` (a member removed later simply stops proposing);
``ledger.max_clock_skew_ms`` is a whole number of milliseconds from 1 s to one day.

Actions and their ``args``:

- ``admit``: ``{"id", "name", "role", "signing_key", "tls_fingerprint", "address"}``;
- ``remove``: ``{"id"}`` (a removed id is never reused; the last voter cannot leave);
- ``rotate``: ``{"id", "signing_key"?, "tls_fingerprint"?, "address"?}``;
- ``set_params``: ``{"set": {name: value}, "unset": [name, ...]}``;
- ``set_list_type``: ``{"name", "id_types", "retention_days"}``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

from ledger._codec import EncodingError, check_value
from ledger._contract import Contract, ContractError, State, TxContext
from ledger._errors import LedgerError
from ledger._genesis import decode_genesis_config
from ledger._members import (
    CONSORTIUM,
    ID_TYPES,
    LIST_TYPES,
    MEMBERS,
    PARAMS,
    PROPOSALS,
    PROPOSER_ROLES,
    PROPOSERS_PARAM,
    ROLES,
    active_members,
    consortium_info,
    get_member,
    param,
    proposers,
    supermajority,
    voters,
)
from ledger._sig import SignatureError, verify_signature
from ledger._state import Overlay
from ledger._tx import MEMBER_ID_PATTERN

__all__ = [
    "ACTIONS",
    "GOV",
    "approve_body",
    "next_seq",
    "proposal_status",
    "proposals",
    "propose_body",
    "withdraw_body",
]

ACTIONS = frozenset({"admit", "remove", "rotate", "set_params", "set_list_type"})
DEFAULT_PROPOSAL_TTL_MS = 7 * 24 * 3600 * 1000
_SKEW_PARAM = "ledger.max_clock_skew_ms"
_SKEW_RANGE = (1000, 24 * 3600 * 1000)
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_PARAM_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}\.[a-z][a-z0-9_.]{0,63}\Z")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise ContractError(reason)


def _text(value: Any, what: str, limit: int = 256) -> str:
    _require(isinstance(value, str) and 0 < len(value) <= limit, f"{what} must be text")
    return str(value)


def _bytes32(value: Any, what: str) -> bytes:
    _require(isinstance(value, bytes) and len(value) == 32, f"{what} must be 32 bytes")
    return bytes(value)


def _int(value: Any, what: str, low: int = 0) -> int:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and value >= low,
        f"{what} must be an integer >= {low}",
    )
    return int(value)


def _member_row(spec: Any, height: int) -> dict[str, Any]:
    """A ``gov.members`` row from an admission or a founder entry, checked."""
    _require(isinstance(spec, dict), "member must be a map")
    member_id = _text(spec.get("id"), "member id", 64)
    _require(bool(MEMBER_ID_PATTERN.match(member_id)), f"member id {member_id!r} is invalid")
    role = spec.get("role")
    # isinstance first: a map or list is unhashable and cannot be looked up in a set.
    _require(isinstance(role, str) and role in ROLES, f"role must be one of {sorted(ROLES)}")
    return {
        "id": member_id,
        "name": _text(spec.get("name"), "member name"),
        "role": role,
        "status": "active",
        "signing_key": _bytes32(spec.get("signing_key"), "signing key"),
        "tls_fingerprint": _bytes32(spec.get("tls_fingerprint"), "TLS fingerprint"),
        "address": _text(spec.get("address"), "address"),
        "since": height,
    }


def _key_unused(state: State, key: bytes, tls: bytes | None, exempt: str | None) -> None:
    for member in active_members(state):
        if member.id == exempt:
            continue
        _require(member.signing_key != key, f"signing key is already {member.id!r}'s")
        _require(
            tls is None or member.tls_fingerprint != tls, f"TLS fingerprint is {member.id!r}'s"
        )


def _list_type(state: State, spec: Any) -> tuple[str, dict[str, Any]]:
    _require(isinstance(spec, dict), "list type must be a map")
    name = _text(spec.get("name"), "list type name", 64)
    _require(bool(_NAME.match(name)), f"list type name {name!r} is invalid")
    id_types = spec.get("id_types")
    _require(
        isinstance(id_types, list)
        and len(id_types) > 0
        # Checked before set(): a map or list element is unhashable.
        and all(isinstance(id_type, str) for id_type in id_types)
        and len(set(id_types)) == len(id_types),
        "id_types must be a non-empty list of names without repeats",
    )
    for id_type in id_types:
        _require(state.get(ID_TYPES, id_type) is not None, f"unknown id type {id_type!r}")
    retention = _int(spec.get("retention_days"), "retention_days", 1)
    return name, {"id_types": list(id_types), "retention_days": retention}


def _check_param(name: Any, value: Any) -> None:
    _require(isinstance(name, str) and bool(_PARAM_NAME.match(name)), f"bad param name {name!r}")
    try:
        check_value(value)
    except EncodingError as exc:
        raise ContractError(f"parameter {name!r}: {exc}") from None
    _require(value is not None, f"parameter {name!r} may not be null (unset it instead)")
    if name == PROPOSERS_PARAM:
        _require(
            isinstance(value, list)
            and len(value) > 0
            and all(isinstance(v, str) and MEMBER_ID_PATTERN.match(v) for v in value)
            and len(set(value)) == len(value),
            f"{PROPOSERS_PARAM} must be a non-empty list of distinct member ids",
        )
    elif name == _SKEW_PARAM:
        low, high = _SKEW_RANGE
        _require(
            isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
            f"{_SKEW_PARAM} must be whole milliseconds from {low} to {high}",
        )


def _check_named_proposers(state: State) -> None:
    """Refuse a ``ledger.proposers`` that names a member who cannot propose."""
    named = state.get(PARAMS, PROPOSERS_PARAM)
    if isinstance(named, list):
        for member_id in named:
            member = get_member(state, member_id)
            _require(
                member is not None and member.active and member.role in PROPOSER_ROLES,
                f"{PROPOSERS_PARAM} names {member_id!r}, not an active member of role"
                f" {' or '.join(sorted(PROPOSER_ROLES))}",
            )


def _require_a_proposer(state: State) -> None:
    """Refuse a state in which no block could follow: no ordering service left."""
    _require(
        bool(proposers(state)),
        f"the consortium would have no proposer: name {PROPOSERS_PARAM} or keep a member"
        " of role orderer",
    )


def _set_param(state: State, name: Any, value: Any) -> None:
    _check_param(name, value)
    state.put(PARAMS, name, value)


def _genesis(state: State, ctx: TxContext) -> None:
    _require(consortium_info(state) is None, "the consortium already exists")
    config, signatures = ctx.body.get("config"), ctx.body.get("signatures")
    _require(isinstance(config, bytes), "genesis config must be bytes")
    _require(isinstance(signatures, dict), "genesis signatures must be a map")
    assert isinstance(config, bytes) and isinstance(signatures, dict)
    try:
        fields = decode_genesis_config(config)
    except LedgerError as exc:
        raise ContractError(f"genesis config: {exc}") from None
    _require(
        set(fields)
        == {
            "consortium",
            "time",
            "normaliser_version",
            "founders",
            "list_types",
            "id_types",
            "params",
        },
        "genesis config has the wrong fields",
    )
    _require(fields["time"] == ctx.block_time, "genesis time differs from the block's time")
    founders = fields["founders"]
    _require(isinstance(founders, list) and len(founders) > 0, "genesis names no founders")
    rows = [_member_row(spec, ctx.height) for spec in founders]
    ids = [row["id"] for row in rows]
    _require(len(set(ids)) == len(ids), "founder ids repeat")
    _require(len({row["signing_key"] for row in rows}) == len(rows), "founder keys repeat")
    _require(any(row["role"] == "member" for row in rows), "no founder has role member")
    _require(set(signatures) == set(ids), "every founder, and only founders, must sign genesis")
    for row in rows:
        signature = signatures[row["id"]]
        try:
            _require(isinstance(signature, bytes), "founder signature must be bytes")
            verify_signature(row["signing_key"], config, signature)
        except SignatureError:
            raise ContractError(f"founder {row['id']!r} did not sign this genesis") from None
        state.put(MEMBERS, row["id"], row)
    id_types = fields["id_types"]
    _require(isinstance(id_types, dict), "id_types must be a map")
    for name, spec in id_types.items():
        _require(bool(_NAME.match(name)) and isinstance(spec, dict), f"bad id type {name!r}")
        state.put(ID_TYPES, name, {"description": _text(spec.get("description"), "description")})
    list_types = fields["list_types"]
    _require(isinstance(list_types, dict), "list_types must be a map")
    for name, spec in list_types.items():
        key, row = _list_type(state, {**spec, "name": name} if isinstance(spec, dict) else spec)
        state.put(LIST_TYPES, key, row)
    _require(isinstance(fields["params"], dict), "params must be a map")
    for name, value in fields["params"].items():
        _set_param(state, name, value)
    _check_named_proposers(state)
    _require_a_proposer(state)
    state.put(
        CONSORTIUM,
        "info",
        {
            "name": _text(fields["consortium"], "consortium name"),
            "normaliser_version": _text(fields["normaliser_version"], "normaliser version", 16),
            "genesis_time": _int(fields["time"], "genesis time"),
            "chain_id": hashlib.sha256(config).digest(),
        },
    )


def _check_action(state: State, action: Any, args: Any, height: int) -> None:
    """Refuse an action that could not execute now; run again when it executes."""
    _require(isinstance(action, str) and action in ACTIONS, f"unknown governance action {action!r}")
    _require(isinstance(args, dict), "args must be a map")
    if action == "admit":
        row = _member_row(args, height)
        _require(get_member(state, row["id"]) is None, f"member id {row['id']!r} is taken")
        _key_unused(state, row["signing_key"], row["tls_fingerprint"], None)
    elif action in ("remove", "rotate"):
        target = get_member(state, _text(args.get("id"), "member id", 64))
        _require(target is not None and target.active, f"{args.get('id')!r} is not active")
        if action == "remove":
            assert target is not None
            remaining = [m for m in voters(state) if m.id != target.id]
            _require(len(remaining) > 0, "the last voting member cannot be removed")
        else:
            changes = set(args) - {"id"}
            _require(bool(changes), "rotate changes nothing")
            _require(changes <= {"signing_key", "tls_fingerprint", "address"}, "bad rotate args")
            key = args.get("signing_key")
            tls = args.get("tls_fingerprint")
            if key is not None:
                _key_unused(state, _bytes32(key, "signing key"), None, args["id"])
            if tls is not None:
                _bytes32(tls, "TLS fingerprint")
            if "address" in args:
                _text(args["address"], "address")
    elif action == "set_params":
        _require(set(args) <= {"set", "unset"}, "set_params takes set and unset")
        _require(isinstance(args.get("set", {}), dict), "set must be a map")
        _require(isinstance(args.get("unset", []), list), "unset must be a list")
        for name, value in args.get("set", {}).items():
            _check_param(name, value)
        for name in args.get("unset", []):
            _require(isinstance(name, str), "unset names must be text")
    else:
        _list_type(state, args)


def _execute(state: State, action: str, args: dict[str, Any], height: int) -> None:
    _check_action(state, action, args, height)
    _apply_action(state, action, args, height)
    _after_action(state, action, args)


def _after_action(state: State, action: str, args: Mapping[str, Any]) -> None:
    """A member removed drops out of ``ledger.proposers``; one named anew must be able
    to propose; and some proposer must remain."""
    if action == "set_params" and PROPOSERS_PARAM in args.get("set", {}):
        _check_named_proposers(state)
    if action in ("remove", "set_params"):
        _require_a_proposer(state)


def _apply_action(state: State, action: str, args: dict[str, Any], height: int) -> None:
    if action == "admit":
        row = _member_row(args, height)
        state.put(MEMBERS, row["id"], row)
    elif action == "remove":
        row = dict(state.get(MEMBERS, args["id"]))  # type: ignore[arg-type]
        state.put(MEMBERS, args["id"], {**row, "status": "removed", "since": height})
    elif action == "rotate":
        row = dict(state.get(MEMBERS, args["id"]))  # type: ignore[arg-type]
        changes: dict[str, Any] = {
            k: args[k] for k in ("signing_key", "tls_fingerprint", "address") if k in args
        }
        state.put(MEMBERS, args["id"], {**row, **changes})
    elif action == "set_params":
        for name, value in args.get("set", {}).items():
            _set_param(state, name, value)
        for name in args.get("unset", []):
            state.delete(PARAMS, name)
    else:
        name, row = _list_type(state, args)
        state.put(LIST_TYPES, name, row)


def _proposal(state: State, body: Mapping[str, Any]) -> dict[str, Any]:
    proposal_id = body.get("proposal")
    _require(isinstance(proposal_id, str), "proposal id must be text")
    row = state.get(PROPOSALS, str(proposal_id))
    _require(isinstance(row, dict), f"no proposal {proposal_id!r}")
    assert isinstance(row, dict)
    return dict(row)


def _tally(state: State, proposal: dict[str, Any], ctx: TxContext) -> None:
    """Store the proposal, executing it first if current voters now carry it."""
    current = {m.id for m in voters(state)}
    counted = len(current & set(proposal["approvals"]))
    if supermajority(counted, len(current)):
        _execute(state, proposal["action"], proposal["args"], ctx.height)
        proposal = {**proposal, "status": "executed", "executed_height": ctx.height}
    state.put(PROPOSALS, proposal["id"], proposal)


def _propose(state: State, ctx: TxContext) -> None:
    action, args = ctx.body.get("action"), ctx.body.get("args")
    _require(set(ctx.body) <= {"action", "args", "expires_at"}, "unexpected proposal fields")
    _check_action(state, action, args, ctx.height)
    if action in ("remove", "set_params"):
        # Refused now rather than left open forever: executing it could never pass.
        trial = Overlay(state)
        assert isinstance(args, dict)  # _check_action refused anything else
        _apply_action(trial, action, args, ctx.height)
        _after_action(trial, action, args)
    ttl = param(state, "gov.proposal_ttl_ms")
    default = ctx.block_time + (ttl if isinstance(ttl, int) else DEFAULT_PROPOSAL_TTL_MS)
    expires_at = ctx.body.get("expires_at", default)
    _require(
        _int(expires_at, "expires_at") > ctx.block_time, "proposal would expire before it opens"
    )
    proposal = {
        "id": ctx.tx_id.hex(),
        "proposer": ctx.member,
        "action": action,
        "args": args,
        "created_height": ctx.height,
        "created_time": ctx.block_time,
        "expires_at": expires_at,
        "approvals": [ctx.member],
        "status": "open",
        "executed_height": None,
    }
    _tally(state, proposal, ctx)


def _approve(state: State, ctx: TxContext) -> None:
    proposal = _proposal(state, ctx.body)
    _require(proposal["status"] == "open", f"proposal is {proposal['status']}")
    _require(ctx.block_time <= proposal["expires_at"], "proposal has expired")
    _require(ctx.member not in proposal["approvals"], f"{ctx.member!r} already approved")
    proposal["approvals"] = sorted([*proposal["approvals"], ctx.member])
    _tally(state, proposal, ctx)


def _withdraw(state: State, ctx: TxContext) -> None:
    proposal = _proposal(state, ctx.body)
    _require(proposal["status"] == "open", f"proposal is {proposal['status']}")
    _require(proposal["proposer"] == ctx.member, "only the proposer may withdraw a proposal")
    state.put(PROPOSALS, proposal["id"], {**proposal, "status": "withdrawn"})


def propose_body(
    action: str, args: Mapping[str, Any], expires_at: int | None = None
) -> dict[str, Any]:
    """The body of a ``gov.propose`` transaction."""
    body: dict[str, Any] = {"action": action, "args": dict(args)}
    if expires_at is not None:
        body["expires_at"] = expires_at
    return body


def approve_body(proposal_id: str) -> dict[str, Any]:
    """The body of a ``gov.approve`` transaction."""
    return {"proposal": proposal_id}


def withdraw_body(proposal_id: str) -> dict[str, Any]:
    """The body of a ``gov.withdraw`` transaction."""
    return {"proposal": proposal_id}


_VOTERS = frozenset({"member"})

GOV = Contract(
    name="gov",
    tables=frozenset({MEMBERS, PARAMS, LIST_TYPES, ID_TYPES, CONSORTIUM, PROPOSALS}),
    handlers={
        "gov.genesis": _genesis,
        "gov.propose": _propose,
        "gov.approve": _approve,
        "gov.withdraw": _withdraw,
    },
    roles={"gov.propose": _VOTERS, "gov.approve": _VOTERS, "gov.withdraw": _VOTERS},
)


def proposal_status(state: State, proposal_id: str, now: int) -> dict[str, Any]:
    """A proposal as people read it: its row plus how far it is from passing.

    ``counted`` approvals are those of current voters; ``needed`` is the smallest count
    above two thirds of the current voters; ``expired`` compares ``expires_at`` to ``now``.
    """
    row = state.get(PROPOSALS, proposal_id)
    if not isinstance(row, dict):
        raise LedgerError(f"no proposal {proposal_id!r}")
    current = {m.id for m in voters(state)}
    counted = sorted(current & set(row["approvals"]))
    return {
        **row,
        "voters": len(current),
        "counted": counted,
        "needed": 2 * len(current) // 3 + 1,
        "expired": row["status"] == "open" and now > row["expires_at"],
    }


def proposals(state: State, now: int, status: str | None = None) -> list[dict[str, Any]]:
    """Every proposal (or those with ``status``), oldest first, as :func:`proposal_status`."""
    rows = [proposal_status(state, key, now) for key, _ in state.scan(PROPOSALS)]
    rows = [r for r in rows if status is None or r["status"] == status]
    return sorted(rows, key=lambda r: (r["created_height"], r["id"]))


def next_seq(state: State, member: str, now: int) -> int:
    """A sequence number for a new transaction of ``member`` signed at ``now`` (ms).

    Above the member's last committed one, and at least ``now`` in microseconds, so
    tools signing for the same member at different times rarely collide; a collision
    is refused by the validator and the tool signs again.
    """
    last = state.get("ledger.seq", member)
    floor = last + 1 if isinstance(last, int) else 1
    return max(floor, now * 1000)
