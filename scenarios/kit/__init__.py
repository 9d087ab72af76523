"""The scenario kit: what every scenario is declared from (SCENARIOS.md §0).

- Transactions of legs (:class:`Leg`, ``_tx``) applied all or nothing by the
  :class:`Engine`, each leg judged by its own :class:`Machine` (:class:`Transition`,
  :class:`Obj`, :class:`Event`), with the required signatures the union over the legs;
  co-signatures and approvals cover the transaction's exact digest (:func:`tx_digest`).
- Party sets (:class:`PartySet`, :class:`Quorum`): "every lender", "a majority",
  "two thirds by commitment".
- Effects from a closed set of primitives (``_primitives``) over objects, holdings
  (:class:`Holdings`: move, mint, burn, lock, release, allocate; conservation audited
  per instrument) and fingerprint registries; exact arithmetic (:func:`allocate`,
  :func:`accrue`, :class:`DayCount`, :class:`Rate`).
- Rules on the post-state (:class:`Rule`), rules as versioned data on an object
  (``_catalogue``), whole-machine invariants (:class:`Invariant`).
- Payload schemas rich enough for a generated command line (``_schema``, ``_types``).
- Screening receipts (:class:`Screening`, :func:`use_screening`): a step backed by a
  real riskshare query the member made, one item of its recorded receipt per step.
- Duplicate alerts (:class:`DuplicateAlerts`): the one alert machine of a fingerprint
  registry, and the registration side of its rules (claim, release, reinstate, moot).
- The fingerprint (duplicate) registry (:class:`FingerprintRegistry`,
  :class:`SimilarityIndex`, one across scenarios for registries of the same pool),
  with fingerprints computed by the registry's OPRF (the key in ``fpreg``,
  :data:`FPREG`), each evaluation metered and recorded by the registry as a
  ``credits.receipt`` and consumed by :func:`use_receipt`.
- Confidential objects (:class:`Confidential`, ``_private``, ``_endorse``): the parties
  hold the state, the ledger a keyed hash, a version, a salted commitment and the
  parties' endorsements.
- Oracles (``_oracle``), contract versions chosen by governance (``_versions``), the
  event feed for subscriptions (``_feed``).

A scenario is one module of declarations: its machines, :func:`build_contract`, and a
``Scenario`` (``scenarios._registry``) naming what else it has.
"""

from scenarios.kit._alerts import (
    CLEARED,
    DUPLICATE_FLAGGED,
    OPEN,
    REGISTERED,
    REGISTRATION_REF,
    WITHDRAWN,
    DuplicateAlerts,
    TakeOver,
    registered_by,
)
from scenarios.kit._arith import DayCount, Rate, accrue, allocate, day_count, round_half_up
from scenarios.kit._catalogue import (
    amend_rules,
    at_least,
    eligible,
    limit,
    matches,
    trigger_first,
    within_tolerance,
)
from scenarios.kit._contract import build_contract, contract_kinds
from scenarios.kit._dates import (
    MS_PER_DAY,
    BankingCalendar,
    add_months,
    add_years,
    day_of,
    days_between,
    parse_date,
)
from scenarios.kit._declare import Calculator, Listing, Precheck, Supplies
from scenarios.kit._demo import Demo, DemoRun, with_consent
from scenarios.kit._documents import (
    DOCUMENT_NORMALISER_VERSION,
    LOSS,
    SIMILAR_LOSS_DAYS,
    Document,
    DocumentKind,
    FingerprintDocument,
    FingerprintInputs,
    Invoice,
    Loss,
    documents_digest,
)
from scenarios.kit._endorse import (
    Proposal,
    check_proposal,
    endorse,
    party_set_of,
    private_body,
    propose,
    run_private,
)
from scenarios.kit._engine import MAX_OBJECTS, Engine, Outcome
from scenarios.kit._feed import FeedEvent, feed_events
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
from scenarios.kit._holdings import Holdings, Supply, is_member_account
from scenarios.kit._machine import ANYONE, NEW, Effect, Machine, Transition, View
from scenarios.kit._money import format_minor, format_rate, parse_minor, parse_rate_ppm
from scenarios.kit._objects import Event, Obj, account
from scenarios.kit._oracle import (
    OBSERVATION_DOMAIN,
    Observation,
    observation,
    observation_message,
    oracle_member,
    sign_observation,
)
from scenarios.kit._parties import ALL, MAJORITY, MAX_MEMBERS, TWO_THIRDS, PartySet, Quorum
from scenarios.kit._primitives import (
    Accrue,
    Allocate,
    Burn,
    ClaimFp,
    Lock,
    Mint,
    Move,
    Primitive,
    Release,
    ReleaseFp,
    SetAttr,
    SetParty,
    SetRules,
    SetState,
    Spawn,
)
from scenarios.kit._private import (
    Confidential,
    PrivateRecord,
    PrivateRow,
    commitment,
    object_hid,
    private_row,
    private_rows,
    verify_record,
)
from scenarios.kit._rules import Invariant, Post, Rule, Severity, evaluate
from scenarios.kit._schema import (
    ID_PATTERN,
    Bool,
    Bytes,
    Date,
    Enum,
    Field,
    Int,
    ListOf,
    MapOf,
    Record,
    Schema,
    Str,
)
from scenarios.kit._screening import SCREENING_TTL_MS, screening_receipt, use_screening
from scenarios.kit._tx import (
    MAX_LEGS,
    TX_DOMAIN,
    Leg,
    chain_id,
    cosign,
    parse_step_body,
    parse_tx_body,
    tx_digest,
    tx_message,
)
from scenarios.kit._types import (
    CURRENCY_DECIMALS,
    Documents,
    Fingerprints,
    Member,
    Money,
    Ppm,
    Screening,
    decimals_of,
)
from scenarios.kit._versions import contract_version, versions_param

__all__ = [
    "ALL",
    "ANYONE",
    "CLEARED",
    "CURRENCY_DECIMALS",
    "DOCUMENT_NORMALISER_VERSION",
    "DUPLICATE_FLAGGED",
    "FINANCING",
    "FINGERPRINT_LIST_TYPE",
    "FINGERPRINT_PURPOSE",
    "FPREG",
    "FP_SIZE",
    "ID_PATTERN",
    "LOSS",
    "MAJORITY",
    "MAX_FINGERPRINTS",
    "MAX_LEGS",
    "MAX_MEMBERS",
    "MAX_OBJECTS",
    "MS_PER_DAY",
    "NEW",
    "OBSERVATION_DOMAIN",
    "OPEN",
    "RECEIPT_TTL_MS",
    "REGISTERED",
    "REGISTRATION_REF",
    "SCREENING_TTL_MS",
    "SIMILAR_LOSS_DAYS",
    "TWO_THIRDS",
    "TX_DOMAIN",
    "WITHDRAWN",
    "Accrue",
    "Allocate",
    "BankingCalendar",
    "Bool",
    "Burn",
    "Bytes",
    "Calculator",
    "Claim",
    "ClaimFp",
    "Confidential",
    "Date",
    "DayCount",
    "Demo",
    "DemoRun",
    "Document",
    "DocumentKind",
    "Documents",
    "DuplicateAlerts",
    "Effect",
    "Engine",
    "Enum",
    "Event",
    "FeedEvent",
    "Field",
    "FingerprintDocument",
    "FingerprintInputs",
    "FingerprintRegistry",
    "FingerprintRequest",
    "FingerprintResponse",
    "Fingerprints",
    "Holder",
    "Holdings",
    "Int",
    "Invariant",
    "Invoice",
    "Leg",
    "ListOf",
    "Listing",
    "Lock",
    "Loss",
    "Machine",
    "MapOf",
    "Member",
    "Mint",
    "Money",
    "Move",
    "Obj",
    "Observation",
    "Outcome",
    "PartySet",
    "Post",
    "Ppm",
    "Precheck",
    "Primitive",
    "PrivateRecord",
    "PrivateRow",
    "Proposal",
    "Quorum",
    "Rate",
    "Record",
    "Release",
    "ReleaseFp",
    "Rule",
    "Schema",
    "Screening",
    "SetAttr",
    "SetParty",
    "SetRules",
    "SetState",
    "Severity",
    "SimilarityIndex",
    "Spawn",
    "Str",
    "Supplies",
    "Supply",
    "TakeOver",
    "Transition",
    "View",
    "account",
    "accrue",
    "active_key",
    "add_months",
    "add_years",
    "allocate",
    "amend_rules",
    "at_least",
    "build_contract",
    "chain_id",
    "check_proposal",
    "commitment",
    "contract_kinds",
    "contract_version",
    "cosign",
    "day_count",
    "day_of",
    "days_between",
    "decimals_of",
    "documents_digest",
    "eligible",
    "endorse",
    "evaluate",
    "evaluate_fingerprints",
    "feed_events",
    "fingerprint_input",
    "finish_fingerprints",
    "format_minor",
    "format_rate",
    "is_member_account",
    "limit",
    "matches",
    "object_hid",
    "observation",
    "observation_message",
    "oracle_member",
    "parse_date",
    "parse_minor",
    "parse_rate_ppm",
    "parse_step_body",
    "parse_tx_body",
    "party_set_of",
    "private_body",
    "private_row",
    "private_rows",
    "propose",
    "registered_by",
    "registry_member",
    "request_fingerprints",
    "round_half_up",
    "run_private",
    "screening_receipt",
    "sign_observation",
    "trigger_first",
    "tx_digest",
    "tx_message",
    "use_receipt",
    "use_screening",
    "verify_record",
    "versions_param",
    "with_consent",
    "within_tolerance",
]
