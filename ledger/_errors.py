"""The one exception root of `ledger`; every error this package raises derives from it."""

__all__ = ["LedgerError"]


class LedgerError(Exception):
    """Base class of every error raised by `ledger`."""
