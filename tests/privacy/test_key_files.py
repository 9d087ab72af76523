"""Every key the system writes is 0600, and a key file anyone else could read is refused.

Checked on the tree a full run leaves (tests/privacy/conftest.py): the CA key, every
gateway's TLS and ledger signing keys (PEM), the fingerprint registry's OPRF key, and
each member's index, which holds its OPRF keys, and every gateway's ``gateway.sqlite``,
which keeps old OPRF keys during a rotation. tests/gateway/test_pki.py checks the
PEM loader on freshly written files; here it is every key of a real run, the registry
key, the index, and a gateway refusing to start.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import PkiError, load_private_key
from gateway._scenarios import _load_registry_key, registry_key_path
from psi import IndexStore, PsiError
from tests.privacy.conftest import REGISTRY, ROOT, FullRun

LOOSE = [0o640, 0o604, 0o644, 0o660, 0o666, 0o700 | 0o044]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _pem_keys(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and path.suffix not in (".sqlite", ".log")
            and b"PRIVATE KEY" in (path.read_bytes())
        ):
            yield path


def test_every_key_file_is_0600(full_run: FullRun) -> None:
    root = full_run.net.root
    pem = list(_pem_keys(root))
    # CA, and a TLS and a signing key for the orderer, three members and the observer.
    assert len(pem) == 1 + 2 * 5, [str(p.relative_to(root)) for p in pem]
    assert {p.name for p in pem} == {"ca.key", "tls.key", "signing.key"}
    registry = registry_key_path(full_run.net.member(REGISTRY).data_dir)
    loose = {str(p.relative_to(root)): oct(_mode(p)) for p in [*pem, registry] if _mode(p) != 0o600}
    assert loose == {}


def test_every_index_holding_oprf_keys_is_0600(full_run: FullRun) -> None:
    indexes = sorted(full_run.net.root.rglob("index.sqlite*"))
    assert len([p for p in indexes if p.name == "index.sqlite"]) == 3
    # gateway.sqlite keeps old OPRF keys during a rotation (gateway._rotation).
    states = sorted(full_run.net.root.rglob("gateway.sqlite*"))
    assert len([p for p in states if p.name == "gateway.sqlite"]) == 5
    loose = {str(p): oct(_mode(p)) for p in [*indexes, *states] if _mode(p) != 0o600}
    assert loose == {}


@pytest.mark.parametrize("mode", LOOSE, ids=oct)
def test_loose_pem_keys_of_the_run_are_refused(
    full_run: FullRun, tmp_path: Path, mode: int
) -> None:
    for source in _pem_keys(full_run.net.root):
        copy = tmp_path / f"{source.parent.name}-{source.name}"
        shutil.copyfile(source, copy)
        os.chmod(copy, 0o600)
        load_private_key(copy)  # the copy is fine as it is
        os.chmod(copy, mode)
        with pytest.raises(PkiError, match="too open"):
            load_private_key(copy)


@pytest.mark.parametrize("mode", LOOSE, ids=oct)
def test_a_loose_registry_key_is_refused(full_run: FullRun, tmp_path: Path, mode: int) -> None:
    source = registry_key_path(full_run.net.member(REGISTRY).data_dir)
    copy = tmp_path / source.name
    shutil.copyfile(source, copy)
    os.chmod(copy, 0o600)
    assert _load_registry_key(copy).public
    os.chmod(copy, mode)
    with pytest.raises(PkiError, match="too open"):
        _load_registry_key(copy)


def test_a_loose_index_is_refused(full_run: FullRun, tmp_path: Path) -> None:
    source = full_run.net.member("bank-a").data_dir / "index.sqlite"
    copy = tmp_path / "index.sqlite"
    shutil.copyfile(source, copy)
    os.chmod(copy, 0o600)
    IndexStore(copy, pool=None).close()  # the copy is fine as it is
    for mode in LOOSE:
        os.chmod(copy, mode)
        with pytest.raises(PsiError, match="too open"):
            IndexStore(copy, pool=None).close()


def test_a_gateway_with_a_loose_key_refuses_to_start(full_run: FullRun) -> None:
    """After the run: bank-a's TLS key made group-readable, its gateway will not serve."""
    key = full_run.net.member("bank-a").member_dir / "tls.key"
    os.chmod(key, 0o640)
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "from cli import main; main()",
                "gateway",
                "serve",
                "--config",
                str(full_run.net.member("bank-a").config_path),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    finally:
        os.chmod(key, 0o600)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "too open" in result.stderr and "0640" in result.stderr
