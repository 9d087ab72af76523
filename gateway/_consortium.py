"""A consortium directory: the root CA, the genesis specification and the founders.

Layout::

    <dir>/ca/ca.key, ca.crt     the root CA (key 0600, optionally encrypted)
    <dir>/genesis.toml          what genesis will say besides the founders
    <dir>/founders/<id>.json    each founder's public enrolment record
    <dir>/signatures/<id>.sig   each founder's Ed25519 signature over the genesis bytes
    <dir>/genesis.block         the sealed height-0 block every replica starts from

The specification names the consortium, the normaliser version, the list types (DESIGN
§7 by default) and parameter overrides. Founders are added by enrolling them (their
records are checked against the CA); genesis is sealed once every founder has signed
the same genesis bytes. Nothing here is secret except ``ca/ca.key``.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

import psi
from gateway._enroll import Enrolment, init_ca, load_enrolment
from gateway._errors import ConfigError, PkiError
from gateway._pki import load_certificate

__all__ = [
    "GenesisSpec",
    "add_founder",
    "founders",
    "init_consortium",
    "load_spec",
]

SPEC, FOUNDERS, SIGNATURES, GENESIS_BLOCK = (
    "genesis.toml",
    "founders",
    "signatures",
    "genesis.block",
)


def launch_list_types() -> dict[str, dict[str, Any]]:
    """psi's launch list types as genesis carries them (``gov.list_types`` on a live
    network is the authority; ``riskshare lists`` reads it from the replica)."""
    return {
        name: {"id_types": list(t.id_types), "retention_days": t.retention_days}
        for name, t in psi.LAUNCH_LIST_TYPES.items()
    }


def launch_id_types() -> dict[str, dict[str, Any]]:
    """psi's launch identifier types as genesis carries them."""
    return {name: {"description": t.description} for name, t in psi.LAUNCH_ID_TYPES.items()}


@dataclass(frozen=True, slots=True)
class GenesisSpec:
    """The operator-written part of genesis (``genesis.toml``)."""

    consortium: str
    normaliser_version: str = "v1"
    list_types: Mapping[str, Mapping[str, Any]] = field(default_factory=launch_list_types)
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_toml(self) -> str:
        body: dict[str, Any] = {
            "consortium": self.consortium,
            "normaliser_version": self.normaliser_version,
            "list_types": {k: dict(v) for k, v in self.list_types.items()},
        }
        if self.params:
            body["params"] = dict(self.params)
        return tomli_w.dumps(body)

    @classmethod
    def from_toml(cls, text: str) -> GenesisSpec:
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{SPEC}: not valid TOML: {exc}") from None
        unknown = set(raw) - {"consortium", "normaliser_version", "list_types", "params"}
        if unknown:
            raise ConfigError(f"{SPEC}: unknown key(s) {', '.join(sorted(unknown))}")
        name = raw.get("consortium")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{SPEC}: consortium (a name) is required")
        lists = raw.get("list_types", launch_list_types())
        if not isinstance(lists, dict) or not lists:
            raise ConfigError(f"{SPEC}: list_types must be a non-empty table")
        for list_type, row in lists.items():
            if (
                not isinstance(row, dict)
                or not isinstance(row.get("id_types"), list)
                or not row["id_types"]
                or not isinstance(row.get("retention_days"), int)
            ):
                raise ConfigError(
                    f"{SPEC}: list_types.{list_type} needs id_types and retention_days"
                )
        params = raw.get("params", {})
        if not isinstance(params, dict):
            raise ConfigError(f"{SPEC}: params must be a table")
        _no_floats(params, "params")
        version = raw.get("normaliser_version", "v1")
        if not isinstance(version, str):
            raise ConfigError(f"{SPEC}: normaliser_version must be text")
        return cls(consortium=name, normaliser_version=version, list_types=lists, params=params)


def _no_floats(value: Any, where: str) -> None:
    # Ledger state holds integers only (DESIGN §6); catch a stray "0.9" here, by name.
    if isinstance(value, float):
        raise ConfigError(f"{SPEC}: {where} is a decimal; ledger parameters are integers")
    if isinstance(value, dict):
        for key, item in value.items():
            _no_floats(item, f"{where}.{key}")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _no_floats(item, f"{where}[{index}]")


def init_consortium(
    directory: Path,
    name: str,
    *,
    now: dt.datetime,
    passphrase: bytes | None = None,
    normaliser_version: str = "v1",
    params: Mapping[str, Any] | None = None,
) -> GenesisSpec:
    """Create the root CA and the genesis specification in ``directory``."""
    if (directory / SPEC).exists():
        raise PkiError(f"{directory} already holds a consortium")
    spec = GenesisSpec(
        consortium=name, normaliser_version=normaliser_version, params=dict(params or {})
    )
    init_ca(directory / "ca", name, now=now, passphrase=passphrase)
    (directory / SPEC).write_text(spec.to_toml())
    (directory / FOUNDERS).mkdir(exist_ok=True)
    return spec


def load_spec(directory: Path) -> GenesisSpec:
    try:
        text = (directory / SPEC).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{directory}: no {SPEC}; run riskshare consortium init") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{directory / SPEC}: cannot read ({type(exc).__name__})") from None
    return GenesisSpec.from_toml(text)


def add_founder(directory: Path, record: Enrolment, *, now: dt.datetime) -> Path:
    """Register an enrolled member as a founder, before genesis is sealed."""
    load_spec(directory)
    if (directory / GENESIS_BLOCK).exists():
        raise PkiError("genesis is sealed; admit new members through governance")
    record.verify(load_certificate(directory / "ca" / "ca.crt"), now=now)
    target = directory / FOUNDERS / f"{record.member_id}.json"
    if target.exists() and load_enrolment(target) != record:
        raise PkiError(f"founder {record.member_id} is already registered with other keys")
    target.parent.mkdir(exist_ok=True)
    target.write_text(record.to_json() + "\n")
    return target


def founders(directory: Path) -> list[Enrolment]:
    """The registered founders, in id order."""
    folder = directory / FOUNDERS
    if not folder.is_dir():
        return []
    return [load_enrolment(path) for path in sorted(folder.glob("*.json"))]
