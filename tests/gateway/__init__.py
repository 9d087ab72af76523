"""Gateway tests. Importing `gateway` here, before any test module loads grpc, pins the
TLS 1.2 cipher list gRPC reads when it starts (see gateway/_tls.py)."""

import gateway  # noqa: F401
