"""The member gateway daemon: PKI, mutual-TLS gRPC, query orchestration, metrics, dashboard."""

from gateway._errors import GatewayError

__all__ = ["GatewayError"]
