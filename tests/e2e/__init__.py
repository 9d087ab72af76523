"""End-to-end tests: gateways as separate processes over real mutual TLS."""

import gateway  # noqa: F401  (pins the TLS 1.2 cipher list before grpc loads)
