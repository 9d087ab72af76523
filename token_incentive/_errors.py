"""The one exception root of `token_incentive`; every error this package raises derives from it.

Contract handlers raise :class:`ledger.ContractError` (the ledger's refusal); the credits
contract translates its own errors into it in exactly one place (``_contract._refusing``),
so the gateway and the CLI see :class:`CreditsError` subclasses and the validator sees
the refusal it expects.
"""

__all__ = [
    "AdmissionRefused",
    "CreditsError",
    "InvalidResponse",
    "MessageError",
    "ParamsError",
]


class CreditsError(Exception):
    """Base class of every error raised by `token_incentive`."""


class ParamsError(CreditsError):
    """Credit parameters that are missing, mistyped or break the scheme's constraints."""


class MessageError(CreditsError):
    """A query request or receipt that is malformed, mis-signed or inconsistent."""


class AdmissionRefused(CreditsError):
    """A query the rules do not admit; ``code`` names the rule, for gRPC status mapping.

    Codes: ``not_member`` (the querier may not ask), ``unknown_list_type``,
    ``bad_items`` (item count out of range), ``not_publisher`` (the querier publishes no
    non-empty set for the list type), ``stale_list`` (its set has expired),
    ``over_overdraft`` (the price would take the balance below the overdraft),
    ``stale_request`` (the request's time is outside the freshness window),
    ``canary_bound`` (an observer's probes would exceed its open canaries),
    ``oprf_key`` (the request names an OPRF key that is not the responder's, is
    retired, or is another of its lists' key).
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class InvalidResponse(CreditsError):
    """Raised by a response verifier: the evaluated elements or their proof do not verify."""
