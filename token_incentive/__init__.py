"""Contribution-based query credits and the evaluation mechanism, as a ledger contract.

See docs/CREDITS.md for the scheme, its units and rounding, and the refund, dispute and
canary flows.
"""

from token_incentive._admission import Admission, admit, published
from token_incentive._contract import (
    CANARY_PURPOSE,
    CheckedRequest,
    ResponseCheck,
    ResponseVerifier,
    check_request,
    credits_contract,
)
from token_incentive._errors import (
    AdmissionRefused,
    CreditsError,
    InvalidResponse,
    MessageError,
    ParamsError,
)
from token_incentive._evaluation import canary_commitment
from token_incentive._messages import (
    QueryReceipt,
    QueryRequest,
    SignedReceipt,
    SignedRequest,
    blinded_digest,
    receipt_id,
    response_digest,
    sign_receipt,
    sign_request,
)
from token_incentive._params import (
    PARAM_NAMES,
    CreditParams,
    check_params,
    default_params,
    load_params,
    params_from_state,
)
from token_incentive._settlement import (
    compute_settlement,
    hit_reward,
    hit_shares,
    settlement_due,
)

__all__ = [
    "CANARY_PURPOSE",
    "PARAM_NAMES",
    "Admission",
    "AdmissionRefused",
    "CheckedRequest",
    "CreditParams",
    "CreditsError",
    "InvalidResponse",
    "MessageError",
    "ParamsError",
    "QueryReceipt",
    "QueryRequest",
    "ResponseCheck",
    "ResponseVerifier",
    "SignedReceipt",
    "SignedRequest",
    "admit",
    "blinded_digest",
    "canary_commitment",
    "check_params",
    "check_request",
    "compute_settlement",
    "credits_contract",
    "default_params",
    "hit_reward",
    "hit_shares",
    "load_params",
    "params_from_state",
    "published",
    "receipt_id",
    "response_digest",
    "settlement_due",
    "sign_receipt",
    "sign_request",
]
