"""The one exception root of `adapters`; every error this package raises derives from it.

Messages never contain an identifier or a raw source value: errors are logged and
shown on terminals, and DESIGN §8 forbids identifiers in logs.
"""

__all__ = [
    "AdapterError",
    "EvidenceError",
    "IndexBindingError",
    "MappingError",
    "RejectShareExceeded",
    "Rejected",
    "SourceError",
    "StagingError",
]


class AdapterError(Exception):
    """Base class of every error raised by `adapters`."""


class Rejected(AdapterError):
    """A value or row that does not meet the standard; ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class MappingError(AdapterError):
    """A mapping file that is malformed or does not fit its source."""


class SourceError(AdapterError):
    """A source that cannot be opened or read, or a connection that is not read-only."""


class StagingError(AdapterError):
    """The staging store is missing, of another version, or inconsistent."""


class RejectShareExceeded(AdapterError):
    """More rows were rejected than the configured share; nothing was changed."""


class IndexBindingError(AdapterError):
    """The published index refused or failed an update."""


class EvidenceError(AdapterError):
    """An evidence opening that does not verify against its committed root."""
