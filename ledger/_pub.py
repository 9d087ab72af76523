"""The publication contract ``pub``: members' OPRF keys and index epoch commitments.

A responder's gateway answers queries with an OPRF key and over a published index;
both are committed here, so a querier can check that the key it is answered with and
the snapshot it holds are the ones the responder stands behind (DESIGN §4). The
credits contract reads ``pub.index`` for reciprocity; gateways read both.

Tables (keys join ids with "/", which member ids and list types cannot contain):

- ``pub.oprf_keys``: ``"<member>/<key_id>"`` → ``{"public_key": 32 bytes, "since":
  block time (ms) it was added, "active": bool}``.
- ``pub.index``: ``"<member>/<list_type>"`` → ``{"epoch", "size", "root" (32 bytes),
  "snapshot_digest" (32 bytes), "key_id", "expires_at" (ms or None),
  "evidence_root" (32 bytes or None), "published_at" (block time, ms)}``.

Kinds (role ``member`` only; observers and orderers publish nothing):

- ``pub.add_oprf_key`` ``{"key_id", "public_key"}``: a new, active key; ids never reused.
- ``pub.retire_oprf_key`` ``{"key_id"}``: marks the key inactive (it stays, for audit).
- ``pub.publish_index`` ``{"list_type", "epoch", "size", "root", "snapshot_digest",
  "key_id", "expires_at", "evidence_root"}``: the list type must be registered, the
  epoch must exceed the last published one, the key must be the member's and active,
  and ``expires_at`` (when set) must lie after the block's time.

Parameter (checked whenever governance changes the parameters, :func:`check_params`):
``pub.bucket_max_bits``, an integer 0-32, caps the hash-prefix bits a querier reveals in
bucket mode whatever list size a responder declares here (0: no bucket mode); unset,
queriers use psi's ``BUCKET_MAX_BITS``. Read it with :func:`bucket_max_bits`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ledger._contract import Contract, ContractError, State, TxContext, Value
from ledger._members import LIST_TYPES, param

__all__ = [
    "BUCKET_BITS_PARAM",
    "INDEX",
    "OPRF_KEYS",
    "PUB",
    "add_oprf_key_body",
    "bucket_max_bits",
    "check_params",
    "publish_index_body",
    "retire_oprf_key_body",
]

INDEX = "pub.index"
OPRF_KEYS = "pub.oprf_keys"
BUCKET_BITS_PARAM = "pub.bucket_max_bits"
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise ContractError(reason)


def _fields(ctx: TxContext, names: set[str]) -> None:
    _require(set(ctx.body) == names, f"{ctx.kind} takes exactly {sorted(names)}")


def _key_id(value: Any) -> str:
    _require(isinstance(value, str) and bool(_KEY_ID.match(value)), "key_id is invalid")
    return str(value)


def _hash32(value: Any, what: str, optional: bool = False) -> bytes | None:
    if optional and value is None:
        return None
    _require(isinstance(value, bytes) and len(value) == 32, f"{what} must be 32 bytes")
    return bytes(value)


def _count(value: Any, what: str) -> int:
    _require(isinstance(value, int) and not isinstance(value, bool) and value >= 0, f"bad {what}")
    return int(value)


def _add_key(state: State, ctx: TxContext) -> None:
    _fields(ctx, {"key_id", "public_key"})
    key = f"{ctx.member}/{_key_id(ctx.body['key_id'])}"
    _require(state.get(OPRF_KEYS, key) is None, "key_id is already used")
    public_key = _hash32(ctx.body["public_key"], "public_key")
    state.put(OPRF_KEYS, key, {"public_key": public_key, "since": ctx.block_time, "active": True})


def _retire_key(state: State, ctx: TxContext) -> None:
    _fields(ctx, {"key_id"})
    key = f"{ctx.member}/{_key_id(ctx.body['key_id'])}"
    row = state.get(OPRF_KEYS, key)
    _require(isinstance(row, dict) and row["active"] is True, "no such active key")
    assert isinstance(row, dict)
    state.put(OPRF_KEYS, key, {**row, "active": False})


def _publish(state: State, ctx: TxContext) -> None:
    body = ctx.body
    _fields(
        ctx,
        {
            "list_type",
            "epoch",
            "size",
            "root",
            "snapshot_digest",
            "key_id",
            "expires_at",
            "evidence_root",
        },
    )
    list_type = body["list_type"]
    _require(
        isinstance(list_type, str) and state.get(LIST_TYPES, list_type) is not None,
        f"unknown list type {list_type!r}",
    )
    key_id = _key_id(body["key_id"])
    oprf = state.get(OPRF_KEYS, f"{ctx.member}/{key_id}")
    _require(isinstance(oprf, dict) and oprf["active"] is True, f"no active OPRF key {key_id!r}")
    epoch = _count(body["epoch"], "epoch")
    row_key = f"{ctx.member}/{list_type}"
    previous = state.get(INDEX, row_key)
    last = previous["epoch"] if isinstance(previous, dict) else 0
    _require(epoch > last, f"epoch {epoch} is not above the last published, {last}")
    expires_at = body["expires_at"]
    if expires_at is not None:
        _require(_count(expires_at, "expires_at") > ctx.block_time, "expires_at is in the past")
    state.put(
        INDEX,
        row_key,
        {
            "epoch": epoch,
            "size": _count(body["size"], "size"),
            "root": _hash32(body["root"], "root"),
            "snapshot_digest": _hash32(body["snapshot_digest"], "snapshot_digest"),
            "key_id": key_id,
            "expires_at": expires_at,
            "evidence_root": _hash32(body["evidence_root"], "evidence_root", optional=True),
            "published_at": ctx.block_time,
        },
    )


def add_oprf_key_body(key_id: str, public_key: bytes) -> dict[str, Any]:
    return {"key_id": key_id, "public_key": public_key}


def retire_oprf_key_body(key_id: str) -> dict[str, Any]:
    return {"key_id": key_id}


def publish_index_body(
    *,
    list_type: str,
    epoch: int,
    size: int,
    root: bytes,
    snapshot_digest: bytes,
    key_id: str,
    expires_at: int | None = None,
    evidence_root: bytes | None = None,
) -> dict[str, Any]:
    return {
        "list_type": list_type,
        "epoch": epoch,
        "size": size,
        "root": root,
        "snapshot_digest": snapshot_digest,
        "key_id": key_id,
        "expires_at": expires_at,
        "evidence_root": evidence_root,
    }


def _bucket_bits(value: Any) -> int | None:
    if value is None:
        return None
    _require(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 32,
        f"{BUCKET_BITS_PARAM} must be an integer from 0 to 32 (prefix bits), not {value!r}",
    )
    return int(value)


def check_params(params: Mapping[str, Value]) -> None:
    """The contract's ``param_check``: refuse a ``pub.bucket_max_bits`` out of range."""
    _bucket_bits(params.get(BUCKET_BITS_PARAM))


def bucket_max_bits(state: State) -> int | None:
    """The consortium's cap on bucket-mode prefix bits, or ``None`` when it sets none."""
    return _bucket_bits(param(state, BUCKET_BITS_PARAM))


_MEMBERS_ONLY = frozenset({"member"})

PUB = Contract(
    name="pub",
    tables=frozenset({INDEX, OPRF_KEYS}),
    handlers={
        "pub.add_oprf_key": _add_key,
        "pub.retire_oprf_key": _retire_key,
        "pub.publish_index": _publish,
    },
    roles={
        "pub.add_oprf_key": _MEMBERS_ONLY,
        "pub.retire_oprf_key": _MEMBERS_ONLY,
        "pub.publish_index": _MEMBERS_ONLY,
    },
    param_check=check_params,
)
