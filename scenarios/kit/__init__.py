"""The five reusable pieces every scenario is built from (SCENARIOS.md §0).

- :class:`Machine`, :class:`Transition`, :class:`Obj`, :class:`Event`: the signed
  multi-party state machine with versioned objects.
- :class:`Conserved`: the conserved-amount ledger (splits and transfers conserve totals).
- :class:`FingerprintRegistry`, :class:`SimilarityIndex`: the duplicate registry.
- :class:`Rule`, :class:`Severity`: rule-engine guards on the hypothetical post-state.
- :func:`cosign`, :func:`cosign_message`: co-signatures for multi-party steps.

A scenario is a contract made with :func:`build_contract` from its machines and pieces.
"""

from scenarios.kit._amounts import Conserved, Supply
from scenarios.kit._cosign import (
    COSIGN_DOMAIN,
    consortium_name,
    cosign,
    cosign_digest,
    cosign_message,
)
from scenarios.kit._dates import MS_PER_DAY, add_months, add_years, day_of, days_between, parse_date
from scenarios.kit._documents import (
    DOCUMENT_NORMALISER_VERSION,
    Document,
    FingerprintInputs,
    Invoice,
)
from scenarios.kit._fingerprints import (
    FP_SIZE,
    Claim,
    FingerprintRegistry,
    SimilarityIndex,
    fingerprint_input,
)
from scenarios.kit._machine import (
    ANYONE,
    NEW,
    Effect,
    Event,
    Machine,
    Obj,
    Step,
    Transition,
    build_contract,
    parse_body,
)
from scenarios.kit._rules import Post, Rule, Severity, evaluate
from scenarios.kit._schema import ID_PATTERN, Bytes, Date, Enum, Field, Int, ListOf, Schema, Str

__all__ = [
    "ANYONE",
    "COSIGN_DOMAIN",
    "DOCUMENT_NORMALISER_VERSION",
    "FP_SIZE",
    "ID_PATTERN",
    "MS_PER_DAY",
    "NEW",
    "Bytes",
    "Claim",
    "Conserved",
    "Date",
    "Document",
    "Effect",
    "Enum",
    "Event",
    "Field",
    "FingerprintInputs",
    "FingerprintRegistry",
    "Int",
    "Invoice",
    "ListOf",
    "Machine",
    "Obj",
    "Post",
    "Rule",
    "Schema",
    "Severity",
    "SimilarityIndex",
    "Step",
    "Str",
    "Supply",
    "Transition",
    "add_months",
    "add_years",
    "build_contract",
    "consortium_name",
    "cosign",
    "cosign_digest",
    "cosign_message",
    "day_of",
    "days_between",
    "evaluate",
    "fingerprint_input",
    "parse_body",
    "parse_date",
]
