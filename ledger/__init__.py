"""The permissioned ledger: signed transactions and blocks, contracts, storage, ordering, audit."""

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
from ledger._state import TOMBSTONE, MemoryState, Overlay

__all__ = [
    "TOMBSTONE",
    "Contract",
    "ContractError",
    "ContractRegistry",
    "Handler",
    "LedgerError",
    "MemoryState",
    "Overlay",
    "State",
    "TxContext",
    "Value",
]
