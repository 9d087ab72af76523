"""The one exception root of `psi`; every error this package raises derives from it."""

__all__ = ["PsiError"]


class PsiError(Exception):
    """Base class of every error raised by `psi`."""
