"""Hostile input at the gRPC boundary and the catalogue of malicious requests (issue 9)."""
