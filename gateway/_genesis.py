"""Sealing genesis: every founder signs the same configuration bytes, one proposes.

Steps, each a CLI command and a function here (so founders on different machines can
each sign with their own key, and nothing secret moves):

1. :func:`draft_genesis` fixes the configuration — the spec, the founders' enrolment
   records, the credit parameters (defaults overridden by the spec) and the time — as
   ``<dir>/genesis.config``, the exact bytes everyone signs;
2. :func:`sign_genesis_draft` — each founder, with its member directory;
3. :func:`seal_genesis` checks every founder signed, builds and executes the height-0
   block with one founder's key, and writes ``<dir>/genesis.block``.

:func:`create_genesis` runs all three for a consortium whose founders' keys are all on
one machine (the demo, tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from gateway._consortium import (
    FOUNDERS,
    GENESIS_BLOCK,
    SIGNATURES,
    founders,
    launch_id_types,
    load_spec,
)
from gateway._enroll import load_member_credentials
from gateway._errors import PkiError
from gateway._registry import consortium_registry
from ledger import (
    Founder,
    GenesisConfig,
    build_genesis_block,
    decode_genesis_config,
    sign_genesis,
)
from token_incentive import default_params

__all__ = ["create_genesis", "draft_genesis", "seal_genesis", "sign_genesis_draft"]

CONFIG = "genesis.config"


def draft_genesis(directory: Path, *, time_ms: int) -> bytes:
    """Fix the genesis configuration bytes from the spec and the registered founders."""
    if (directory / GENESIS_BLOCK).exists():
        raise PkiError("genesis is already sealed")
    spec = load_spec(directory)
    records = founders(directory)
    if not records:
        raise PkiError(f"no founders in {directory / FOUNDERS}; enrol members first")
    params: dict[str, object] = dict(default_params())
    params.update(spec.params)
    config = GenesisConfig(
        consortium=spec.consortium,
        founders=tuple(
            Founder(
                id=r.member_id,
                name=r.name,
                role=r.role,
                signing_key=r.signing_key,
                tls_fingerprint=r.tls_fingerprint,
                address=r.address,
            )
            for r in records
        ),
        time=time_ms,
        list_types=spec.list_types,
        id_types=launch_id_types(),
        normaliser_version=spec.normaliser_version,
        params=params,
    ).encode()
    (directory / CONFIG).write_bytes(config)
    sig_dir = directory / SIGNATURES
    if sig_dir.is_dir():
        for old in sig_dir.glob("*.sig"):  # signatures over an older draft are void
            old.unlink()
    return config


def _config(directory: Path) -> bytes:
    try:
        return (directory / CONFIG).read_bytes()
    except FileNotFoundError:
        raise PkiError("no genesis draft; run riskshare consortium genesis draft") from None


def sign_genesis_draft(directory: Path, member_dir: Path, passphrase: bytes | None = None) -> Path:
    """One founder's signature over the draft, written to ``signatures/<id>.sig``."""
    config = _config(directory)
    creds = load_member_credentials(member_dir, passphrase)
    named = {f["id"] for f in decode_genesis_config(config)["founders"]}
    if creds.member_id not in named:
        raise PkiError(f"{creds.member_id} is not a founder in this genesis draft")
    path = directory / SIGNATURES / f"{creds.member_id}.sig"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(sign_genesis(config, creds.signing_key))
    return path


def seal_genesis(directory: Path, proposer_dir: Path, passphrase: bytes | None = None) -> bytes:
    """Build the height-0 block once every founder has signed; returns its bytes."""
    config = _config(directory)
    named = sorted(f["id"] for f in decode_genesis_config(config)["founders"])
    signatures: dict[str, bytes] = {}
    for member_id in named:
        path = directory / SIGNATURES / f"{member_id}.sig"
        if not path.exists():
            raise PkiError(f"founder {member_id} has not signed the genesis draft")
        signatures[member_id] = path.read_bytes()
    proposer = load_member_credentials(proposer_dir, passphrase)
    if proposer.member_id not in signatures:
        raise PkiError("the proposer of genesis must be a founder")
    block = build_genesis_block(
        config,
        signatures,
        proposer=proposer.member_id,
        key=proposer.signing_key,
        registry=consortium_registry(),
    )
    raw = block.raw
    (directory / GENESIS_BLOCK).write_bytes(raw)
    return raw


def create_genesis(
    directory: Path,
    member_dirs: Sequence[Path],
    *,
    time_ms: int,
    passphrases: Mapping[Path, bytes] | None = None,
) -> bytes:
    """Draft, have every founder in ``member_dirs`` sign, and seal with the first."""
    draft_genesis(directory, time_ms=time_ms)
    for member_dir in member_dirs:
        sign_genesis_draft(directory, member_dir, (passphrases or {}).get(member_dir))
    return seal_genesis(directory, member_dirs[0], (passphrases or {}).get(member_dirs[0]))
