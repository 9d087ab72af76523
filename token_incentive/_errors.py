"""The one exception root of `token_incentive`; every error this package raises derives from it."""

__all__ = ["CreditsError"]


class CreditsError(Exception):
    """Base class of every error raised by `token_incentive`."""
