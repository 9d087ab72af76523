"""Setting up a consortium and a member: founders, genesis, configuration, policies."""

from gateway._config import load_config
from gateway._consortium import (
    GenesisSpec,
    add_founder,
    init_consortium,
    launch_id_types,
    launch_list_types,
)
from gateway._genesis import draft_genesis, seal_genesis, sign_genesis_draft
from gateway._lists import ledger_policies
from gateway._registry import consortium_registry

__all__ = [
    "GenesisSpec",
    "add_founder",
    "consortium_registry",
    "draft_genesis",
    "init_consortium",
    "launch_id_types",
    "launch_list_types",
    "ledger_policies",
    "load_config",
    "seal_genesis",
    "sign_genesis_draft",
]
