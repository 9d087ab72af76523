"""The other whitepaper scenarios as contracts and flows on the same gateway + ledger."""

from scenarios._errors import ScenarioError

__all__ = ["ScenarioError"]
