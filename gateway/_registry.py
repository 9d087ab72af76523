"""The consortium's contract registry: the same on every replica, the orderer included.

The set of contracts is a consensus rule — a kind one replica does not know is refused
there, and its state digest then differs — so it is assembled in this one place:
``gov`` and ``pub`` (the ledger's own), ``credits`` with the VOPRF response verifier its
refund rule needs, and every registered scenario.
"""

from __future__ import annotations

import functools

from ledger import ContractRegistry, State, default_registry, oprf_key
from psi import ProtocolError, verify_evaluation
from scenarios import all_contracts
from token_incentive import InvalidResponse, ResponseCheck, credits_contract

__all__ = ["consortium_registry", "verify_voprf_response"]


def verify_voprf_response(state: State, check: ResponseCheck) -> None:
    """Does the responder's batched DLEQ proof verify under the key the receipt names?

    That is the key the querier's signed request named (the receipt signs its digest),
    read from ``pub.oprf_keys`` whether or not it has been retired since: an answer is
    judged by the key it was made under, not by the responder's key of the day.
    Deterministic and pure over ledger state, as a contract rule must be.
    """
    key_id = check.key_id if isinstance(check.key_id, str) else ""
    key = oprf_key(state, check.responder, key_id)
    if key is None:
        raise InvalidResponse(f"{check.responder} committed no OPRF key {key_id!r}")
    try:
        verify_evaluation(key.public_key, check.blinded, check.evaluated, check.proof)
    except ProtocolError:
        raise InvalidResponse("the answer or its DLEQ proof does not verify") from None


@functools.cache
def consortium_registry() -> ContractRegistry:
    """gov, pub, credits and the scenarios' contracts, in that order."""
    return default_registry([credits_contract(verify_voprf_response), *all_contracts()])
