"""The one exception root of `scenarios`; every error this package raises derives from it."""

__all__ = ["ScenarioError"]


class ScenarioError(Exception):
    """Base class of every error raised by `scenarios`."""
