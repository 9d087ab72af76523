"""Files an operator or another member hands the gateway: the gateway's TOML config
(with environment overrides), an adapter mapping, the consortium's genesis spec, and
a founder's enrolment record (checked against the consortium CA).

Contract: the package's own error (:class:`gateway.ConfigError` or
:class:`gateway.PkiError` — both :class:`gateway.GatewayError` — and
:class:`adapters.AdapterError`) or success; and a config that loads has only finite,
in-range numbers, so a limit of ``nan`` can never switch a check off.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import tomli_w

from adapters import AdapterError, load_mapping
from gateway import GatewayError, enroll_member, init_ca, load_config, load_enrolment
from gateway._config import _SECTIONS, ENV_PREFIX, Config
from gateway._consortium import SPEC, GenesisSpec, load_spec
from gateway._enroll import Enrolment
from tests.fuzz._harness import TRICKY, OneInput, Target

NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)

CONFIG: dict[str, Any] = {
    "member": {"id": "bank-a", "dir": "members/bank-a", "data_dir": "data/bank-a"},
    "gateway": {"listen": "127.0.0.1:7001", "workers": 2, "metrics_listen": "127.0.0.1:9101"},
    "ledger": {"orderer": "127.0.0.1:7000", "block_interval": 0.2, "genesis": "genesis.block"},
    "limits": {"requests_per_second": 200.0, "elements_per_second": 200000.0},
    "query": {"deadline_ms": 5000, "retries": 2},
    "log": {"level": "info", "file": "gateway.log"},
    "dashboard": {"bind": "127.0.0.1", "port": 0, "probe_seconds": 1.0},
}
MAPPING = """\
name = "core-blacklist"
version = 1

[source]
table = "blacklist"
key = "id"
watermark = "updated_at"
delisted = { column = "status", values = ["closed", "void"] }
timezone = "Asia/Shanghai"
encoding = "gb18030"

[columns]
list_type = { const = "transaction_fraud" }
id_type = "id_type"
value = "value"
reason_code = { column = "reason", map = { fraud = "1", mule = "2" } }
listed_at = "listed_at"

[sync]
max_reject_share = 0.05
"""


def _overrides() -> list[str]:
    """Every environment variable that overrides a config key."""
    return [
        f"{ENV_PREFIX}{section.upper()}_{field.name.upper()}"
        for section, kind in _SECTIONS.items()
        for field in dataclasses.fields(kind)
    ]


def _finite(config: Config) -> None:
    for section in _SECTIONS:
        for field in dataclasses.fields(getattr(config, section)):
            value = getattr(getattr(config, section), field.name)
            if isinstance(value, float):
                assert math.isfinite(value), f"{section}.{field.name} = {value} loaded"


def _gateway(directory: Path) -> OneInput:
    path = directory / "member.toml"

    def load(env: dict[str, str]) -> None:
        try:
            config = load_config(path, env=env)
        except GatewayError:
            return
        _finite(config)

    def check(data: bytes) -> None:
        # data = selector, variable, then the TOML file. An odd selector tries every
        # tricky value for the chosen environment variable over this file.
        if len(data) < 2:
            return
        path.write_bytes(data[2:])
        if data[0] % 2 == 0:
            load({})
            return
        names = _overrides()
        for value in TRICKY:
            load({names[data[1] % len(names)]: value})

    return check


def _mapping(directory: Path) -> OneInput:
    path = directory / "source.mapping.toml"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            load_mapping(path)
        except AdapterError:
            return

    return check


def _spec(directory: Path) -> OneInput:
    consortium = directory / "consortium"
    consortium.mkdir(exist_ok=True)

    def check(data: bytes) -> None:
        (consortium / SPEC).write_bytes(data)
        try:
            load_spec(consortium)
        except GatewayError:
            return

    return check


@functools.cache
def _ca(directory: Path) -> tuple[Any, Enrolment]:
    ca = init_ca(directory / "ca", "Fuzz consortium", now=NOW)
    record = enroll_member(
        ca, directory / "bank-a", member_id="bank-a", name="A", address="h:1", now=NOW
    )
    return ca, record


def _enrolment(directory: Path) -> OneInput:
    ca, _ = _ca(directory)

    path = directory / "enrolment.json"

    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            record = load_enrolment(path)
            record.verify(ca.certificate, now=NOW)
        except GatewayError:
            return

    return check


def _seeds(name: str, directory: Path) -> Iterable[bytes]:
    if name == "gateway":
        text = tomli_w.dumps(CONFIG).encode()
        return [
            b"\x00\x00" + text,
            *(b"\x01" + bytes([i]) + text for i in range(len(_overrides()))),
        ]
    if name == "mapping":
        return [MAPPING.encode()]
    if name == "spec":
        return [GenesisSpec(consortium="Fuzz", params={"credits.cap": 10}).to_toml().encode()]
    return [_ca(directory)[1].to_json().encode()]


TARGETS = [
    Target("gateway", _gateway, functools.partial(_seeds, "gateway")),
    Target("mapping", _mapping, functools.partial(_seeds, "mapping")),
    Target("spec", _spec, functools.partial(_seeds, "spec")),
    Target("enrolment", _enrolment, functools.partial(_seeds, "enrolment")),
]
