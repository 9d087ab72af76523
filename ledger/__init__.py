"""The permissioned ledger: signed transactions and blocks, contracts, storage, ordering, audit."""

from ledger._codec import MAX_ENCODED_BYTES, EncodingError, decode, encode
from ledger._contract import (
    Contract,
    ContractError,
    ContractRegistry,
    Handler,
    State,
    TxContext,
    Value,
)
from ledger._errors import LedgerError
from ledger._members import (
    MEMBERS,
    PARAMS,
    ROLES,
    Member,
    active_members,
    consortium_info,
    get_member,
    list_types,
    param,
    params,
    require_member_signature,
)
from ledger._ordering import MemoryOrderingLog, OrderingLog, OrderingLogError
from ledger._state import TOMBSTONE, MemoryState, Overlay

__all__ = [
    "MAX_ENCODED_BYTES",
    "MEMBERS",
    "PARAMS",
    "ROLES",
    "TOMBSTONE",
    "Contract",
    "ContractError",
    "ContractRegistry",
    "EncodingError",
    "Handler",
    "LedgerError",
    "Member",
    "MemoryOrderingLog",
    "MemoryState",
    "OrderingLog",
    "OrderingLogError",
    "Overlay",
    "State",
    "TxContext",
    "Value",
    "active_members",
    "consortium_info",
    "decode",
    "encode",
    "get_member",
    "list_types",
    "param",
    "params",
    "require_member_signature",
]
