"""A test consortium: a root CA, enrolled members, and ledger membership rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway import (
    CertificateAuthority,
    Enrolment,
    MemberCredentials,
    enroll_member,
    load_ca,
    load_member_credentials,
)
from gateway._consortium import add_founder, init_consortium
from ledger import MEMBERS, MemoryState

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@dataclass
class Consortium:
    root: Path
    ca: CertificateAuthority
    enrolments: dict[str, Enrolment]

    def member_dir(self, member_id: str) -> Path:
        return self.root / member_id

    def credentials(self, member_id: str) -> MemberCredentials:
        return load_member_credentials(self.member_dir(member_id))

    def state(self) -> MemoryState:
        state = MemoryState()
        for record in self.enrolments.values():
            state.put(MEMBERS, record.member_id, record.member(since=0).to_row())
        return state


def make_consortium(root: Path, ids: list[str], roles: dict[str, str] | None = None) -> Consortium:
    now = dt.datetime.now(dt.UTC)
    init_consortium(root, "Test consortium", now=now)
    ca = load_ca(root / "ca")
    enrolments = {
        member_id: enroll_member(
            ca,
            root / member_id,
            member_id=member_id,
            name=member_id.upper(),
            address="127.0.0.1:0",
            role=(roles or {}).get(member_id, "member"),
            now=now,
        )
        for member_id in ids
    }
    for record in enrolments.values():
        add_founder(root, record, now=now)
    return Consortium(root, ca, enrolments)


@pytest.fixture(scope="session")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    root = tmp_path_factory.mktemp("consortium")
    return make_consortium(
        root, ["bank-a", "bank-b", "bank-c", "regulator"], {"regulator": "observer"}
    )


@pytest.fixture(scope="session")
def other_consortium(tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    """Same member ids, a different root CA: its certificates must never be accepted."""
    return make_consortium(tmp_path_factory.mktemp("other"), ["bank-a", "bank-b"])
