"""Private membership queries: RFC 9497 OPRF/VOPRF (ristretto255-SHA512) and the published index."""

from psi._errors import PsiError

__all__ = ["PsiError"]
