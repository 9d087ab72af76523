"""The publication contract ``pub``: members' OPRF keys and index epoch commitments.

A responder's gateway answers queries with an OPRF key and over a published index;
both are committed here, so a querier can check that the key it is answered with and
the snapshot it holds are the ones the responder stands behind (DESIGN §4). The
credits contract reads ``pub.index`` for reciprocity and grants; gateways read both.
Everyone reads ``pub.index`` through :func:`index_row`.

Tables (keys join ids with "/", which member ids and list types cannot contain):

- ``pub.oprf_keys``: ``"<member>/<key_id>"`` → ``{"public_key": 32 bytes, "since":
  block time (ms) it was added, "active": bool}``.
- ``pub.key_owners``: the public key in hex → the member that registered it (a key
  belongs to one member for good, retired or not).
- ``pub.index``: ``"<member>/<list_type>"`` → ``{"epoch", "size", "root" (32 bytes),
  "snapshot_digest" (32 bytes), "key_id", "expires_at" (ms or None),
  "evidence_root" (32 bytes or None), "published_at" (block time, ms)}``, plus
  ``"suspended": {"by", "height", "at", "size", "digest"}`` once a complaint has
  shown that the snapshot served does not match (below).

Kinds (role ``member`` only; observers and orderers publish nothing). Every field a
replica can check, it checks; what it cannot (that the tags are really OPRF outputs of
real entries) a querier checks against the snapshot, and a mismatch comes back here as
a complaint:

- ``pub.add_oprf_key`` ``{"key_id", "public_key"}``: a new, active key; ids never
  reused. The key must be a canonical ristretto255 encoding and not the identity (a
  querier verifies every answer's DLEQ proof under it), and no other member's key: a
  member answering with a copy of another's key could pass off the other's list, and
  its answers, as its own.
- ``pub.retire_oprf_key`` ``{"key_id"}``: marks the key inactive (it stays, for audit).
- ``pub.publish_index`` ``{"list_type", "epoch", "size", "root", "snapshot_digest",
  "key_id", "expires_at", "evidence_root"}``: the list type must be registered; the
  epoch must exceed the last published one and fit in 63 bits; the size is at most
  :data:`MAX_INDEX_SIZE` entries, and the root is the RFC 9162 root of no tags exactly
  when the size is 0; the key must be the member's and active; ``expires_at`` (when
  set) must lie after the block's time. A new epoch replaces the row, so it also ends
  a suspension.
- ``pub.complain`` ``{"statement", "signature"}``: a querier shows that a responder
  signed a :class:`ServedSnapshot` — "for this list and epoch I serve a snapshot of
  ``size`` entries whose SHA-256 is ``digest``", which the responder's gateway sends
  with the last chunk of every snapshot — that contradicts its ``pub.index`` row for the
  same epoch (another digest or another size). The statement must name this chain and
  the row's epoch and verify under the responder's registered key; the complainant may
  not be the responder. The row is then marked ``suspended``: its list stops counting
  for reciprocity and grants (``token_incentive``) and queriers stop using it, until
  the responder publishes a new epoch. A second complaint about a suspended row is
  refused (nothing to change).

Parameter (checked whenever governance changes the parameters, :func:`check_params`):
``pub.bucket_max_bits``, an integer 0-32, caps the hash-prefix bits a querier reveals in
bucket mode whatever list size a responder declares here (0: no bucket mode); unset,
queriers use psi's ``BUCKET_MAX_BITS``. Read it with :func:`bucket_max_bits`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pysodium
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger._codec import EncodingError, decode, encode
from ledger._contract import Contract, ContractError, State, TxContext, Value
from ledger._members import LIST_TYPES, consortium_info, param, require_member_signature
from ledger._merkle import EMPTY_ROOT
from ledger._tx import MEMBER_ID_PATTERN

__all__ = [
    "BUCKET_BITS_PARAM",
    "INDEX",
    "KEY_OWNERS",
    "MAX_INDEX_SIZE",
    "OPRF_KEYS",
    "PUB",
    "IndexRow",
    "OprfKey",
    "ServedSnapshot",
    "add_oprf_key_body",
    "bucket_max_bits",
    "check_params",
    "complain_body",
    "index_row",
    "index_rows",
    "oprf_key",
    "publish_index_body",
    "retire_oprf_key_body",
]

INDEX = "pub.index"
OPRF_KEYS = "pub.oprf_keys"
BUCKET_BITS_PARAM = "pub.bucket_max_bits"
KEY_OWNERS = "pub.key_owners"
SERVED_DOMAIN, SERVED_VERSION = "pub-served", 1
# psi's snapshot format counts entries in 40 bits; no list comes near it.
MAX_INDEX_SIZE = 1 << 40
_MAX_INT = (1 << 63) - 1
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}\Z")
_LIST_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}\Z")
_IDENTITY = bytes(32)


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


def _count(value: Any, what: str, high: int = _MAX_INT) -> int:
    _require(
        isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high,
        f"bad {what} (a whole number from 0 to {high})",
    )
    return int(value)


def _valid_point(value: bytes) -> bool:
    """A canonical ristretto255 encoding other than the identity (libsodium's check;
    it accepts the identity's encoding, all zeros, which no key may be)."""
    return value != _IDENTITY and bool(pysodium.crypto_core_ristretto255_is_valid_point(value))


# -- the served-snapshot statement --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServedSnapshot:
    """What a responder signs with each snapshot it serves: ``riskshare/pub-served/v1``
    ``{"chain", "member", "list_type", "epoch", "size", "digest"}`` — on this chain, of
    ``member``'s ``list_type`` list at ``epoch``, the bytes served hold ``size`` entries
    and hash (SHA-256) to ``digest``. Signed with the member's ledger key, it is the
    proof a ``pub.complain`` carries."""

    chain: bytes
    member: str
    list_type: str
    epoch: int
    size: int
    digest: bytes

    def encode(self) -> bytes:
        return encode(
            SERVED_DOMAIN,
            SERVED_VERSION,
            {
                "chain": self.chain,
                "member": self.member,
                "list_type": self.list_type,
                "epoch": self.epoch,
                "size": self.size,
                "digest": self.digest,
            },
        )

    @classmethod
    def decode(cls, raw: bytes) -> ServedSnapshot:
        """Parse statement bytes; :class:`ledger.EncodingError` if malformed."""
        fields = decode(SERVED_DOMAIN, SERVED_VERSION, raw)
        if not isinstance(fields, dict) or set(fields) != {
            "chain",
            "member",
            "list_type",
            "epoch",
            "size",
            "digest",
        }:
            raise EncodingError("served-snapshot statement has the wrong fields")
        chain, member, list_type = fields["chain"], fields["member"], fields["list_type"]
        epoch, size, digest = fields["epoch"], fields["size"], fields["digest"]
        if not (
            isinstance(chain, bytes)
            and len(chain) == 32
            and isinstance(digest, bytes)
            and len(digest) == 32
            and isinstance(member, str)
            and MEMBER_ID_PATTERN.match(member)
            and isinstance(list_type, str)
            and _LIST_TYPE.match(list_type)
            and all(
                isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= _MAX_INT
                for n in (epoch, size)
            )
        ):
            raise EncodingError("served-snapshot statement is malformed")
        return cls(chain, member, list_type, epoch, size, digest)

    def sign(self, key: Ed25519PrivateKey) -> tuple[bytes, bytes]:
        """The statement's bytes and the member's signature over them."""
        raw = self.encode()
        return raw, key.sign(raw)


def complain_body(statement: bytes, signature: bytes) -> dict[str, Any]:
    """The body of a ``pub.complain`` transaction."""
    return {"statement": statement, "signature": signature}


# -- reading pub.index ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexRow:
    """A member's published index commitment for one list type, as ``pub.index`` holds
    it; ``suspended`` is the complaint that suspended it, if any."""

    member: str
    list_type: str
    epoch: int
    size: int
    root: bytes
    snapshot_digest: bytes
    key_id: str
    expires_at: int | None
    evidence_root: bytes | None
    published_at: int
    suspended: Mapping[str, Any] | None

    def in_force(self, now: int) -> bool:
        """Counts for reciprocity and grants at ``now``: non-empty, in date, and not
        suspended by a complaint."""
        in_date = self.expires_at is None or self.expires_at > now
        return self.size > 0 and in_date and self.suspended is None


def _index(member: str, list_type: str, row: Mapping[str, Any]) -> IndexRow:
    return IndexRow(
        member=member,
        list_type=list_type,
        epoch=row["epoch"],
        size=row["size"],
        root=row["root"],
        snapshot_digest=row["snapshot_digest"],
        key_id=row["key_id"],
        expires_at=row["expires_at"],
        evidence_root=row["evidence_root"],
        published_at=row["published_at"],
        suspended=row.get("suspended"),
    )


def index_row(state: State, member: str, list_type: str) -> IndexRow | None:
    """``member``'s ``pub.index`` row for ``list_type``, or ``None`` if it has none."""
    row = state.get(INDEX, f"{member}/{list_type}")
    if not isinstance(row, dict):
        return None
    return _index(member, list_type, row)


def index_rows(state: State, member: str | None = None) -> Iterator[IndexRow]:
    """Every published index commitment (of ``member``, if given), by member and then
    list type."""
    for key, row in state.scan(INDEX, "" if member is None else f"{member}/"):
        if isinstance(row, dict):
            member, _, list_type = key.partition("/")
            yield _index(member, list_type, row)


@dataclass(frozen=True, slots=True)
class OprfKey:
    """A member's OPRF public key, as ``pub.oprf_keys`` holds it."""

    member: str
    key_id: str
    public_key: bytes
    since: int
    active: bool


def oprf_key(state: State, member: str, key_id: str) -> OprfKey | None:
    """``member``'s OPRF key ``key_id`` (active or retired), or ``None``."""
    row = state.get(OPRF_KEYS, f"{member}/{key_id}")
    if not isinstance(row, dict):
        return None
    return OprfKey(member, key_id, row["public_key"], row["since"], bool(row["active"]))


# -- handlers -----------------------------------------------------------------------------


def _add_key(state: State, ctx: TxContext) -> None:
    _fields(ctx, {"key_id", "public_key"})
    key = f"{ctx.member}/{_key_id(ctx.body['key_id'])}"
    _require(state.get(OPRF_KEYS, key) is None, "key_id is already used")
    public_key = _hash32(ctx.body["public_key"], "public_key")
    assert public_key is not None
    _require(
        _valid_point(public_key),
        "public_key is not a valid ristretto255 element (canonical, not the identity)",
    )
    owner = state.get(KEY_OWNERS, public_key.hex())
    _require(
        owner is None or owner == ctx.member,
        f"public_key is {owner!r}'s OPRF key",
    )
    state.put(OPRF_KEYS, key, {"public_key": public_key, "since": ctx.block_time, "active": True})
    state.put(KEY_OWNERS, public_key.hex(), ctx.member)


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
    size = _count(body["size"], "size", MAX_INDEX_SIZE)
    root = _hash32(body["root"], "root")
    _require(
        (size == 0) == (root == EMPTY_ROOT),
        "root must be the Merkle root of no tags exactly when size is 0",
    )
    expires_at = body["expires_at"]
    if expires_at is not None:
        _require(_count(expires_at, "expires_at") > ctx.block_time, "expires_at is in the past")
    # A new row: an earlier epoch's suspension does not carry over (module docstring).
    state.put(
        INDEX,
        row_key,
        {
            "epoch": epoch,
            "size": size,
            "root": root,
            "snapshot_digest": _hash32(body["snapshot_digest"], "snapshot_digest"),
            "key_id": key_id,
            "expires_at": expires_at,
            "evidence_root": _hash32(body["evidence_root"], "evidence_root", optional=True),
            "published_at": ctx.block_time,
        },
    )


def _statement(ctx: TxContext) -> tuple[bytes, bytes, ServedSnapshot]:
    _fields(ctx, {"statement", "signature"})
    raw, signature = ctx.body["statement"], ctx.body["signature"]
    _require(isinstance(raw, bytes), "statement must be bytes")
    _require(isinstance(signature, bytes) and len(signature) == 64, "signature must be 64 bytes")
    try:
        served = ServedSnapshot.decode(raw)
    except EncodingError as exc:
        raise ContractError(f"statement: {exc}") from None
    return raw, signature, served


def _complain(state: State, ctx: TxContext) -> None:
    raw, signature, served = _statement(ctx)
    info = consortium_info(state)
    _require(
        info is not None and served.chain == info["chain_id"], "statement is for another chain"
    )
    accused = served.member
    _require(accused != ctx.member, "a member cannot complain about its own list")
    row_key = f"{accused}/{served.list_type}"
    row = state.get(INDEX, row_key)
    _require(isinstance(row, dict), f"{accused} publishes no {served.list_type} list")
    assert isinstance(row, dict)
    _require(
        served.epoch == row["epoch"],
        f"the statement is about epoch {served.epoch}; the declaration in force is epoch"
        f" {row['epoch']}",
    )
    require_member_signature(state, accused, raw, signature)
    _require(
        served.digest != row["snapshot_digest"] or served.size != row["size"],
        "the statement matches the declaration: nothing to complain about",
    )
    _require(
        row.get("suspended") is None, f"{accused}'s {served.list_type} list is already suspended"
    )
    state.put(
        INDEX,
        row_key,
        {
            **row,
            "suspended": {
                "by": ctx.member,
                "height": ctx.height,
                "at": ctx.block_time,
                "size": served.size,
                "digest": served.digest,
            },
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


def _parties(kind: str, body: Mapping[str, Any]) -> Iterable[str]:
    """The accused of a complaint is a party to it ("transactions about me")."""
    if kind != "pub.complain":
        return ()
    try:
        return (ServedSnapshot.decode(body["statement"]).member,)
    except (EncodingError, KeyError, TypeError):
        return ()


def _signed(kind: str, body: Mapping[str, Any]) -> Iterable[tuple[str, bytes, bytes]]:
    if kind != "pub.complain":
        return ()
    return (
        (ServedSnapshot.decode(body["statement"]).member, body["statement"], body["signature"]),
    )


_MEMBERS_ONLY = frozenset({"member"})

PUB = Contract(
    name="pub",
    tables=frozenset({INDEX, OPRF_KEYS, KEY_OWNERS}),
    handlers={
        "pub.add_oprf_key": _add_key,
        "pub.retire_oprf_key": _retire_key,
        "pub.publish_index": _publish,
        "pub.complain": _complain,
    },
    roles={
        "pub.add_oprf_key": _MEMBERS_ONLY,
        "pub.retire_oprf_key": _MEMBERS_ONLY,
        "pub.publish_index": _MEMBERS_ONLY,
        "pub.complain": _MEMBERS_ONLY,
    },
    param_check=check_params,
    parties=_parties,
    signed_payloads=_signed,
)
