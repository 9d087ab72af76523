"""The launch list types are defined once (psi) and every consumer agrees with it.

They were once defined four times, and the copies disagreed on retention:
transaction_fraud was 1825 days in the genesis default and 1826 elsewhere, and
high_risk_account had 730 days in one place and none in another.
"""

from __future__ import annotations

import adapters
import psi
from gateway._consortium import GenesisSpec, launch_id_types, launch_list_types


def test_retention_is_design_section_7() -> None:
    days = {name: t.retention_days for name, t in psi.LAUNCH_LIST_TYPES.items()}
    # Five years with its leap day; "closure + 2 years" kept two years from listing when
    # the source sends no expiry of its own; two years.
    assert days == {
        "transaction_fraud": 1826,
        "high_risk_account": 730,
        "marketing_abuse": 730,
    }


def test_adapters_policies_are_psis() -> None:
    assert set(adapters.LAUNCH_LIST_TYPES) == set(psi.LAUNCH_LIST_TYPES)
    for name, launch in psi.LAUNCH_LIST_TYPES.items():
        policy = adapters.LAUNCH_LIST_TYPES[name]
        assert policy.id_types == frozenset(launch.id_types)
        assert policy.retention_days == launch.retention_days


def test_genesis_spec_defaults_are_psis() -> None:
    spec = GenesisSpec.from_toml('consortium = "c"\n')
    assert spec.list_types == launch_list_types()
    assert GenesisSpec("c").list_types == launch_list_types()
    assert set(launch_id_types()) == set(psi.LAUNCH_ID_TYPES)


def test_registry_admits_what_the_launch_types_say() -> None:
    for name, launch in psi.LAUNCH_LIST_TYPES.items():
        assert psi.DEFAULT_REGISTRY.list_types[name] == frozenset(launch.id_types)
    assert adapters.NORMALISER_VERSION == psi.NORMALISER_VERSION


def test_every_id_type_has_a_normaliser() -> None:
    assert set(adapters.ID_TYPES) == set(psi.LAUNCH_ID_TYPES)
