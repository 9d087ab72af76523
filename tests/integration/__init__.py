"""Integration: the finished parts joined through the gateway and the CLI (see conftest)."""

import gateway  # noqa: F401  (pins the TLS 1.2 cipher list before grpc loads)
