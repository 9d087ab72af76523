"""The one exception root of `scenarios`; every error this package raises derives from it."""

__all__ = ["FingerprintError", "ScenarioError"]


class ScenarioError(Exception):
    """Base class of every error raised by `scenarios`."""


class FingerprintError(ScenarioError):
    """A fingerprint evaluation message or response that does not check out."""
