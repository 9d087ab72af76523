"""Contracts: pure state-transition functions over per-contract tables.

The rules every contract keeps:

- A contract owns named tables. It may read any table but writes only its own; the
  registry enforces this, so one contract cannot corrupt another's state.
- A transaction kind is named ``<contract>.<action>`` (``gov.propose``,
  ``credits.receipt``, ``scf.issue``) and is handled by exactly one handler.
- A handler takes a :class:`State` and a :class:`TxContext` and either returns (its
  writes stand) or raises :class:`ContractError` with a reason a person can read (its
  writes are dropped: an invalid transaction changes nothing).
- Handlers are deterministic. No clock, no randomness, no I/O: ``ctx.block_time`` is
  "now", and everything else comes from the transaction body or from state. Every
  replica therefore reaches the same state from the same blocks.
- Values are CBOR-encodable without floats: ``None``, ``bool``, ``int``, ``str``,
  ``bytes``, lists of values and dicts with ``str`` keys. Amounts are integers.

Signature, membership, role and sequence-number checks happen before a handler runs
(in the validator), so a handler may trust ``ctx.member`` and the role it holds.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ledger._errors import LedgerError

__all__ = [
    "Contract",
    "ContractError",
    "ContractRegistry",
    "Handler",
    "State",
    "TxContext",
    "Value",
]

# A state value. ``Any`` inside containers keeps mypy usable; the encoder rejects floats.
Value = None | bool | int | str | bytes | list[Any] | dict[str, Any]


class ContractError(LedgerError):
    """A contract refused a transaction; ``reason`` says why, for people, and
    ``reason_code`` the rule that refused it, for programs (``refused`` unless the
    contract names one)."""

    def __init__(self, reason: str, reason_code: str = "refused") -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_code = reason_code


class State(Protocol):
    """Read/write access to contract tables, as a handler sees it.

    ``scan`` yields ``(key, value)`` pairs in ascending key order, limited to keys that
    start with ``prefix``; it reflects writes made earlier in the same transaction.
    """

    def get(self, table: str, key: str) -> Value | None: ...

    def put(self, table: str, key: str, value: Value) -> None: ...

    def delete(self, table: str, key: str) -> None: ...

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, Value]]: ...


@dataclass(frozen=True, slots=True)
class TxContext:
    """What a handler knows about the transaction it applies.

    ``time`` is the submitter's claimed time and ``block_time`` the block's time, both
    in milliseconds since the Unix epoch; contracts use ``block_time`` as "now".
    """

    tx_id: bytes
    kind: str
    member: str
    role: str
    seq: int
    time: int
    body: Mapping[str, Any]
    height: int
    block_time: int


Handler = Callable[[State, TxContext], None]


@dataclass(frozen=True, slots=True)
class Contract:
    """A named set of tables and the handlers that may write them.

    ``roles`` maps each kind to the member roles allowed to submit it; a kind missing
    from ``roles`` may be submitted by any active member of any role.

    ``param_check``, when given, is called with every consortium parameter (the
    governance contract's ``gov.params`` table as a dict) whenever a transaction
    changes them, genesis included; it raises :class:`ContractError` to refuse
    parameters that would break this contract's rules (a guard on the post-state).

    ``parties``, when given, names the other members a transaction of this contract
    involves (the querier of a receipt the responder submits, say), from its kind and
    body; the store indexes them so a member can list "transactions about me". It must
    be pure and must not raise for a body its handler accepts.

    ``signed_payloads``, when given, lists the ``(member_id, message, signature)``
    triples a transaction's body carries and its handler will check with
    :func:`ledger.require_member_signature`. It is only a hint: the validator checks
    them ahead of time on several threads, so the handler finds them already verified.
    A hint that is wrong or missing costs speed, never correctness. It may raise on a
    malformed body (the hint is then skipped).

    ``reads``, when given, lists ``(table, key)`` pairs of committed state its handler
    will read for a transaction (a receipt's replay check, say). Also only a hint: the
    store loads them in one query ahead of time, off the thread that applies
    transactions, so the handler's reads find them in memory. It may raise too.
    """

    name: str
    tables: frozenset[str]
    handlers: Mapping[str, Handler]
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    param_check: Callable[[Mapping[str, Value]], None] | None = None
    parties: Callable[[str, Mapping[str, Any]], Iterable[str]] | None = None
    signed_payloads: (
        Callable[[str, Mapping[str, Any]], Iterable[tuple[str, bytes, bytes]]] | None
    ) = None
    reads: Callable[[str, Mapping[str, Any]], Iterable[tuple[str, str]]] | None = None

    def __post_init__(self) -> None:
        for kind in self.handlers:
            if not kind.startswith(self.name + "."):
                raise LedgerError(f"kind {kind!r} does not belong to contract {self.name!r}")
        for table in self.tables:
            if not table.startswith(self.name + "."):
                raise LedgerError(f"table {table!r} does not belong to contract {self.name!r}")


class _OwnedState:
    """A :class:`State` that refuses writes outside the contract's own tables."""

    __slots__ = ("_contract", "_inner")

    def __init__(self, inner: State, contract: Contract) -> None:
        self._inner = inner
        self._contract = contract

    def _check(self, table: str) -> None:
        if table not in self._contract.tables:
            raise ContractError(f"contract {self._contract.name!r} may not write table {table!r}")

    def get(self, table: str, key: str) -> Value | None:
        return self._inner.get(table, key)

    def put(self, table: str, key: str, value: Value) -> None:
        self._check(table)
        self._inner.put(table, key, value)

    def delete(self, table: str, key: str) -> None:
        self._check(table)
        self._inner.delete(table, key)

    def scan(self, table: str, prefix: str = "") -> Iterator[tuple[str, Value]]:
        return self._inner.scan(table, prefix)

    def table_token(self, table: str) -> Hashable | None:
        # See ledger.table_token; a wrapper that only filters writes changes no content.
        method: Any = getattr(self._inner, "table_token", None)
        return None if method is None else method(table)


class ContractRegistry:
    """Maps transaction kinds to the contract and handler that apply them."""

    def __init__(self, contracts: Iterable[Contract] = ()) -> None:
        self._contracts: dict[str, Contract] = {}
        self._kinds: dict[str, Contract] = {}
        for contract in contracts:
            self.register(contract)

    def register(self, contract: Contract) -> None:
        if contract.name in self._contracts:
            raise LedgerError(f"contract {contract.name!r} is already registered")
        clash = set(contract.handlers) & set(self._kinds)
        if clash:
            raise LedgerError(f"kinds already registered: {sorted(clash)}")
        self._contracts[contract.name] = contract
        for kind in contract.handlers:
            self._kinds[kind] = contract

    def contract_for(self, kind: str) -> Contract:
        try:
            return self._kinds[kind]
        except KeyError:
            raise ContractError(f"unknown transaction kind {kind!r}") from None

    def allowed_roles(self, kind: str) -> frozenset[str] | None:
        """The roles that may submit ``kind``, or ``None`` when any role may."""
        return self.contract_for(kind).roles.get(kind)

    def apply(self, state: State, ctx: TxContext) -> None:
        """Run the handler for ``ctx.kind``; the caller drops the writes if this raises."""
        contract = self.contract_for(ctx.kind)
        contract.handlers[ctx.kind](_OwnedState(state, contract), ctx)

    def check_params(self, params: Mapping[str, Value]) -> None:
        """Run every contract's ``param_check`` over proposed consortium parameters."""
        for contract in self._contracts.values():
            if contract.param_check is not None:
                contract.param_check(params)

    @property
    def kinds(self) -> frozenset[str]:
        return frozenset(self._kinds)

    @property
    def contracts(self) -> tuple[Contract, ...]:
        return tuple(self._contracts.values())
