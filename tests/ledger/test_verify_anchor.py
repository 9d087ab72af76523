"""``riskshare ledger verify`` is anchored on the consortium's genesis, and flags blocks
from the future (issue 14, 9d).

A store only proves that it agrees with itself: someone who rebuilds one — another
genesis with the same member ids, blocks of their own — gets a store that replays
cleanly. So verification starts from a genesis block hash the operator trusts: the
hash of the genesis file their member config names (the file the gateway created the
replica from), or one given outright, and optionally a trusted header hash at some
height. And no replica applies a block stamped further ahead of its clock than the
consortium's skew, so verify reports one as well.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway import load_member_credentials
from gateway._localnet import create_local_consortium
from gateway._registry import consortium_registry
from ledger import (
    Block,
    BlockExecutor,
    EmbeddedOrderer,
    Replica,
    Store,
    add_oprf_key_body,
    decode_block,
    make_block,
    sign_transaction,
)
from psi import generate_key_pair
from tests.adversary._world import now_ms

RISKSHARE = Path(sys.executable).parent / "riskshare"
YEAR_MS = 365 * 24 * 3600 * 1000


def _riskshare(*args: str) -> tuple[int, str]:
    done = subprocess.run(
        [str(RISKSHARE), *args], capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, done.stdout + done.stderr


def _chain(root: Path, data_dir: Path, *, future: bool = False) -> None:
    """A consortium's genesis and two blocks its orderer cut into ``data_dir``'s store;
    with ``future``, the second block stamped a year ahead (applied by a replica that
    kept no clock, as gateways did before issue 14)."""
    net = create_local_consortium(root, ["bank-a", "bank-b"])
    creds = {m: load_member_credentials(net.member(m).member_dir) for m in ("orderer", "bank-a")}
    registry = consortium_registry()
    data_dir.mkdir(parents=True, exist_ok=True)
    with Store(data_dir / "ledger.sqlite") as store:
        Replica(store, registry).apply(net.genesis.read_bytes())
        orderer = EmbeddedOrderer(
            store, registry, member="orderer", key=creds["orderer"].signing_key
        )
        chain = store.chain_id
        assert chain is not None

        def key_tx(n: int, at: int) -> bytes:
            body = add_oprf_key_body(f"k{n}", generate_key_pair(lambda k: bytes([n]) * k).public)
            return sign_transaction(
                creds["bank-a"].signing_key,
                chain=chain,
                member="bank-a",
                kind="pub.add_oprf_key",
                body=body,
                seq=n + 10,
                time=at,
            ).raw

        assert orderer.submit(key_tx(1, now_ms())).accepted
        orderer.flush()
        orderer.stop(flush=False)
        if future:
            head = store.head()
            assert head is not None
            at = now_ms() + YEAR_MS
            executor = BlockExecutor(
                store.state(), registry, height=2, time=at, prev_digest=head.state_digest
            )
            tx = key_tx(2, at)
            assert executor.execute(tx, 0).ok
            block: Block = make_block(
                creds["orderer"].signing_key,
                chain=chain,
                height=2,
                prev=head.hash,
                time=at,
                proposer="orderer",
                txs=[tx],
                state_digest=executor.finish()[1],
            )
            Replica(store, registry).apply(block.raw)


@pytest.fixture(scope="module")
def ours(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The member's config (bank-a's), its data directory holding its true replica."""
    root = tmp_path_factory.mktemp("ours")
    _chain(root, root / "data" / "bank-a")
    return root / "config" / "bank-a.toml"


def test_the_members_own_replica_verifies_anchored_on_its_genesis(ours: Path) -> None:
    code, output = _riskshare("ledger", "verify", "--config", str(ours))
    genesis = decode_block((ours.parent.parent / "consortium" / "genesis.block").read_bytes())
    assert code == 0, output
    assert output.startswith("ok: 2 blocks"), output
    assert f"anchored on genesis {genesis.hash.hex()}" in output
    with Store(ours.parent.parent / "data" / "bank-a" / "ledger.sqlite", create=False) as store:
        head = store.head()
    assert head is not None
    code, output = _riskshare(
        "ledger", "verify", "--config", str(ours), "--checkpoint", f"1:{head.hash.hex()}"
    )
    assert code == 0 and "and the checkpoint at height 1" in output, output
    code, output = _riskshare(
        "ledger", "verify", "--config", str(ours), "--checkpoint", f"1:{'00' * 32}"
    )
    assert code == 2 and output.startswith("error: height 1: header hash "), output
    assert "is not the trusted checkpoint's" in output


def test_a_rebuilt_store_does_not_verify(ours: Path, tmp_path: Path) -> None:
    """Another consortium's chain (same member ids) in the member's data directory."""
    data_dir = ours.parent.parent / "data" / "bank-a"
    rebuilt = tmp_path / "rebuilt"
    _chain(tmp_path / "forger", rebuilt)
    before = (rebuilt / "ledger.sqlite").read_bytes()
    # Without an anchor, verify no longer calls a store "ok" on its own word.
    code, output = _riskshare("ledger", "verify", "--data-dir", str(rebuilt))
    assert code == 2, output
    assert output.startswith("error: nothing to anchor on"), output
    # Anchored on the member's genesis (its config, pointed at the rebuilt data).
    code, output = _riskshare("ledger", "verify", "--config", str(ours), "--data-dir", str(rebuilt))
    assert code == 2, output
    assert output.startswith("error: height 0: the genesis block is not the trusted one"), output
    assert "this store is another chain, or was rebuilt" in output
    genesis = ours.parent.parent / "consortium" / "genesis.block"
    code, output = _riskshare(
        "ledger", "verify", "--data-dir", str(rebuilt), "--genesis", str(genesis)
    )
    assert code == 2 and "the genesis block is not the trusted one" in output, output
    assert (rebuilt / "ledger.sqlite").read_bytes() == before  # verify changes nothing
    # The forger's own store, checked against itself only, passes: say so plainly.
    code, output = _riskshare("ledger", "verify", "--data-dir", str(rebuilt), "--unanchored")
    assert code == 0 and "NOT anchored (--unanchored)" in output, output
    assert data_dir.exists()


def test_a_block_from_the_future_is_flagged(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "bank-a"
    _chain(tmp_path, data_dir, future=True)
    config = tmp_path / "config" / "bank-a.toml"
    code, output = _riskshare("ledger", "verify", "--config", str(config))
    assert code == 2, output
    assert output.startswith("error: height 2: block time "), output
    assert "ms ahead of this machine's clock (more than the 300000 ms skew" in output
