"""The ``riskshare`` command line: one typer app, one place that turns errors into exit codes."""

# First, before anything loads grpc: gRPC core reads its TLS 1.2 cipher list once, at
# import, and the gateway's TLS-1.3-only rule depends on it; importing the gateway
# package pins it before anything else it loads (see gateway/_tls.py).
import gateway  # noqa: F401
from cli._main import app, main

__all__ = ["app", "main"]
