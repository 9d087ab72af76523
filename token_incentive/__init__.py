"""Contribution-based query credits and the evaluation mechanism, as a ledger contract."""

from token_incentive._errors import CreditsError

__all__ = ["CreditsError"]
