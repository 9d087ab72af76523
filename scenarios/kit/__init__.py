"""The five reusable pieces every scenario is built from (SCENARIOS.md §0).

- :class:`Machine`, :class:`Transition`, :class:`Obj`, :class:`Event`: the signed
  multi-party state machine with versioned objects.
- :class:`Conserved`: the conserved-amount ledger (splits and transfers conserve totals).
- :class:`FingerprintRegistry`, :class:`SimilarityIndex`: the duplicate registry (one
  across scenarios for registries of the same pool, :data:`FINANCING`), with
  fingerprints computed by the registry's OPRF (:func:`request_fingerprints`,
  :func:`evaluate_fingerprints`, :func:`finish_fingerprints`; the key in the shared
  ``fpreg`` contract, :data:`FPREG`; each evaluation metered as a credits receipt).
- :class:`Rule`, :class:`Severity`: rule-engine guards on the hypothetical post-state.
- :func:`cosign`, :func:`cosign_message`: co-signatures for multi-party steps; and the
  two-party-signed receipts of the query flow (``token_incentive.QueryRequest`` and
  ``QueryReceipt``) for every fingerprint evaluation, recorded by the registry as a
  ``credits.receipt`` and consumed by :func:`use_receipt`.

A scenario is a contract made with :func:`build_contract` from its machines and pieces,
and optionally a :class:`Demo` flow that ``riskshare demo --scenario`` runs.
"""

from scenarios.kit._amounts import Conserved, Supply
from scenarios.kit._cosign import (
    COSIGN_DOMAIN,
    chain_id,
    cosign,
    cosign_digest,
    cosign_message,
)
from scenarios.kit._dates import MS_PER_DAY, add_months, add_years, day_of, days_between, parse_date
from scenarios.kit._demo import Demo, DemoRun
from scenarios.kit._documents import (
    DOCUMENT_NORMALISER_VERSION,
    Document,
    FingerprintInputs,
    Invoice,
)
from scenarios.kit._fingerprints import (
    FINANCING,
    FP_SIZE,
    Claim,
    FingerprintRegistry,
    Holder,
    SimilarityIndex,
    fingerprint_input,
)
from scenarios.kit._fpclient import (
    MAX_FINGERPRINTS,
    FingerprintRequest,
    FingerprintResponse,
    evaluate_fingerprints,
    finish_fingerprints,
    request_fingerprints,
)
from scenarios.kit._fpservice import (
    FINGERPRINT_LIST_TYPE,
    FINGERPRINT_PURPOSE,
    FPREG,
    RECEIPT_TTL_MS,
    active_key,
    registry_member,
    use_receipt,
)
from scenarios.kit._machine import (
    ANYONE,
    NEW,
    Effect,
    Event,
    Machine,
    Obj,
    Preview,
    Step,
    Transition,
    build_contract,
    parse_body,
)
from scenarios.kit._money import format_minor, format_rate, parse_minor, parse_rate_ppm
from scenarios.kit._rules import Post, Rule, Severity, evaluate
from scenarios.kit._schema import ID_PATTERN, Bytes, Date, Enum, Field, Int, ListOf, Schema, Str

__all__ = [
    "ANYONE",
    "COSIGN_DOMAIN",
    "DOCUMENT_NORMALISER_VERSION",
    "FINANCING",
    "FINGERPRINT_LIST_TYPE",
    "FINGERPRINT_PURPOSE",
    "FPREG",
    "FP_SIZE",
    "ID_PATTERN",
    "MAX_FINGERPRINTS",
    "MS_PER_DAY",
    "NEW",
    "RECEIPT_TTL_MS",
    "Bytes",
    "Claim",
    "Conserved",
    "Date",
    "Demo",
    "DemoRun",
    "Document",
    "Effect",
    "Enum",
    "Event",
    "Field",
    "FingerprintInputs",
    "FingerprintRegistry",
    "FingerprintRequest",
    "FingerprintResponse",
    "Holder",
    "Int",
    "Invoice",
    "ListOf",
    "Machine",
    "Obj",
    "Post",
    "Preview",
    "Rule",
    "Schema",
    "Severity",
    "SimilarityIndex",
    "Step",
    "Str",
    "Supply",
    "Transition",
    "active_key",
    "add_months",
    "add_years",
    "build_contract",
    "chain_id",
    "cosign",
    "cosign_digest",
    "cosign_message",
    "day_of",
    "days_between",
    "evaluate",
    "evaluate_fingerprints",
    "fingerprint_input",
    "finish_fingerprints",
    "format_minor",
    "format_rate",
    "parse_body",
    "parse_date",
    "parse_minor",
    "parse_rate_ppm",
    "registry_member",
    "request_fingerprints",
    "use_receipt",
]
