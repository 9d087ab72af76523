"""A whole consortium on one machine: the files for the demo, the e2e tests and the bench.

:func:`create_local_consortium` does what the operators of a real consortium do, with
the same functions the CLI runs: ``consortium init``, ``member enroll`` for an orderer
and each member, genesis drafted, signed by every founder and sealed, and one
``member.toml`` per gateway (loopback addresses, free ports). Lists are loaded with
:func:`load_list`, which goes through the adapters' import (CSV file + mapping file,
normaliser v1) into each member's index, exactly as ``riskshare lists import`` would.

Layout under ``root``: ``consortium/``, ``members/<id>/`` (keys), ``data/<id>/``
(ledger, index, staging, gateway state), ``config/<id>.toml``, ``lists/<id>/``.
"""

from __future__ import annotations

import csv
import datetime as dt
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w

from gateway._consortium import add_founder, init_consortium
from gateway._enroll import enroll_member, load_ca
from gateway._genesis import create_genesis
from ledger import now_ms

__all__ = ["LocalConsortium", "LocalMember", "create_local_consortium", "free_ports", "load_list"]

ORDERER = "orderer"


@dataclass(frozen=True, slots=True)
class LocalMember:
    member_id: str
    role: str
    member_dir: Path
    data_dir: Path
    config_path: Path
    address: str


@dataclass(frozen=True, slots=True)
class LocalConsortium:
    root: Path
    orderer: LocalMember
    members: Mapping[str, LocalMember]
    genesis: Path

    def member(self, member_id: str) -> LocalMember:
        return self.orderer if member_id == ORDERER else self.members[member_id]


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the kernel just handed out (and that we released) on ``host``."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _config(
    member: LocalMember,
    orderer_address: str,
    genesis: Path,
    *,
    workers: int,
    serve_orderer: bool,
    overrides: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    ledger: dict[str, Any] = {"genesis": str(genesis), "block_interval": 0.1}
    if serve_orderer:
        ledger.update(serve_orderer=True, orderer_listen=member.address)
    else:
        ledger["orderer"] = orderer_address
    sections: dict[str, dict[str, Any]] = {
        "member": {
            "id": member.member_id,
            "dir": str(member.member_dir),
            "data_dir": str(member.data_dir),
        },
        "gateway": {
            "listen": member.address,
            "workers": workers,
            "threads": 8,
            "grace_seconds": 2.0,
        },
        "ledger": ledger,
        "limits": {"requests_per_second": 200.0, "elements_per_second": 200_000.0},
        "query": {"deadline_ms": 5000, "retries": 2, "snapshot_sync_seconds": 5.0},
        "log": {"level": "info", "file": str(member.data_dir / "gateway.log")},
    }
    for name, values in overrides.items():
        sections.setdefault(name, {}).update(values)
    return sections


def create_local_consortium(
    root: Path,
    member_ids: Sequence[str],
    *,
    host: str = "127.0.0.1",
    workers: int = 1,
    name: str = "Local consortium",
    params: Mapping[str, Any] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    roles: Mapping[str, str] | None = None,
) -> LocalConsortium:
    """Create CA, keys, genesis and configs for an orderer plus ``member_ids``.

    Every member has role ``member`` unless ``roles`` names another (``observer``).
    """
    now = dt.datetime.now(dt.UTC)
    init_consortium(root / "consortium", name, now=now, params=dict(params or {}))
    ca = load_ca(root / "consortium" / "ca")
    ports = free_ports(len(member_ids) + 1, host)
    ids = [ORDERER, *member_ids]
    locals_: dict[str, LocalMember] = {}
    for member_id, port in zip(ids, ports, strict=True):
        member = LocalMember(
            member_id=member_id,
            role="orderer" if member_id == ORDERER else (roles or {}).get(member_id, "member"),
            member_dir=root / "members" / member_id,
            data_dir=root / "data" / member_id,
            config_path=root / "config" / f"{member_id}.toml",
            address=f"{host}:{port}",
        )
        record = enroll_member(
            ca,
            member.member_dir,
            member_id=member_id,
            name=member_id.replace("-", " ").title(),
            address=member.address,
            role=member.role,
            now=now,
        )
        add_founder(root / "consortium", record, now=now)
        locals_[member_id] = member
    # The orderer proposes blocks but a founder with role member must sign genesis
    # first in line; every founder signs.
    dirs = [locals_[m].member_dir for m in member_ids] + [locals_[ORDERER].member_dir]
    create_genesis(root / "consortium", dirs, time_ms=now_ms())
    genesis = root / "consortium" / "genesis.block"
    orderer = locals_[ORDERER]
    (root / "config").mkdir(parents=True, exist_ok=True)
    for member_id, member in locals_.items():
        config = _config(
            member,
            orderer.address,
            genesis,
            workers=workers,
            serve_orderer=member_id == ORDERER,
            overrides=overrides or {},
        )
        member.config_path.write_text(tomli_w.dumps(config))
        member.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    return LocalConsortium(
        root=root,
        orderer=orderer,
        members={m: locals_[m] for m in member_ids},
        genesis=genesis,
    )


_MAPPING = """\
name = "{name}"
version = 1

[columns]
list_type = "list_type"
id_type = "id_type"
value = "value"
reason_code = "reason"
"""


def load_list(
    member: LocalMember,
    rows: Sequence[tuple[str, str, str, int]],
    *,
    source: str = "core-blacklist",
    now: int | None = None,
) -> Any:
    """Import ``(list_type, id_type, value, reason)`` rows into the member's index."""
    from adapters import import_source

    lists = member.data_dir.parent.parent / "lists" / member.member_id
    lists.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = lists / f"{source}.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["list_type", "id_type", "value", "reason"])
        writer.writerows(rows)
    mapping = lists / f"{source}.mapping.toml"
    mapping.write_text(_MAPPING.format(name=source))
    return import_source(
        member.data_dir,
        str(data),
        mapping,
        now=int(time.time()) if now is None else now,
    )
