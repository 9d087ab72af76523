"""``riskshare lists rotate-key`` beside running gateways, while queries stream.

bank-a and bank-c publish ``marketing_abuse`` lists (no other test reads them); bank-c
keeps asking bank-a about one listed and one unlisted number through its admin socket,
as ``riskshare query`` does, while the operator rotates the list's key twice with the
CLI. Every query is answered with the right verdicts throughout; bank-a's gateway
commits each new key and epoch on its own, every replica shows it, and bank-c's
answers move to the new epochs.
"""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

from rich.console import Console

from cli._lists import _rotation_progress
from gateway import GatewayError
from gateway._client import AdminClient
from gateway._localnet import load_list
from gateway._rotation import RetainedKeys
from psi import IndexStore
from tests.integration.conftest import Net, wait

LT = "marketing_abuse"
LISTED = "13300133000"
ABSENT = "13200132000"


class Asker:
    """bank-c asking bank-a in a loop, each answer's epoch kept in order."""

    def __init__(self, net: Net) -> None:
        self.socket = net.consortium.member("bank-c").data_dir / "admin.sock"
        self.epochs: list[int] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asker", daemon=True)

    def _run(self) -> None:
        with AdminClient(self.socket) as client:
            while not self._stop.is_set():
                try:
                    reply = client.query(LT, "phone", [LISTED, ABSENT], members=["bank-a"])
                except Exception as exc:  # every failure is reported, none stops the loop
                    self.failures.append(repr(exc))
                else:
                    for answer in reply.answers:
                        if answer.error_code or list(answer.hits) != [True, False]:
                            self.failures.append(f"{answer.error_code} {answer.error}")
                        else:
                            self.epochs.append(int(answer.epoch))
                self._stop.wait(0.1)

    def __enter__(self) -> Asker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()

    def answered_at(self, epoch: int) -> int:
        assert self.failures == [], self.failures  # stop waiting at the first failure
        return self.epochs.count(epoch)


def _index(net: Net, member_id: str) -> Any:
    return net.row(member_id, "pub.index", f"bank-a/{LT}")


def _everywhere(net: Net, key_id: str, epoch: int) -> bool:
    rows = [_index(net, m) for m in net.nodes]
    return all(isinstance(r, dict) and (r["key_id"], r["epoch"]) == (key_id, epoch) for r in rows)


def test_rotate_key_while_queries_keep_answering(net: Net) -> None:
    # A querier must publish a non-empty list of the type it asks about: bank-c too.
    for member_id, value in (("bank-a", LISTED), ("bank-c", "13100131000")):
        load_list(net.consortium.members[member_id], [(LT, "phone", value, 2)], source="ma")
        # (Earlier tests of the package may leave other epochs to publish as well.)
        assert LT in net.nodes[member_id].recorder.publish()
    net.synced()
    first: Any = _index(net, "bank-c")
    data_dir = str(net.data_dir("bank-a"))
    with Asker(net) as asker:
        wait(lambda: asker.answered_at(first["epoch"]) >= 2, timeout=60)
        out = net.ok("lists", "rotate-key", LT, "--data-dir", data_dir, "--json")
        rotation = json.loads(out)
        assert rotation["list_type"] == LT and rotation["size"] == 1
        assert rotation["old_key_id"] == first["key_id"] != rotation["new_key_id"]
        assert rotation["epoch"] == first["epoch"] + 1
        # bank-a's gateway commits the new key and epoch; every replica shows them, and
        # bank-c's answers move to the new epoch without one failing.
        wait(lambda: _everywhere(net, rotation["new_key_id"], rotation["epoch"]), timeout=60)
        wait(lambda: asker.answered_at(rotation["epoch"]) >= 2, timeout=60)
        # Again, in text: the old key is now the one the first rotation made.
        text = net.ok("lists", "rotate-key", LT, "--data-dir", data_dir)
        second: Any = None

        def published() -> bool:
            nonlocal second
            second = _index(net, "bank-a")
            return bool(second["epoch"] == rotation["epoch"] + 1)

        wait(published, timeout=60)
        assert text.splitlines()[0] == (
            f"{LT}: OPRF key {rotation['new_key_id']} -> {second['key_id']},"
            f" index epoch {second['epoch']}, 1 entry re-evaluated"
        )
        wait(lambda: _everywhere(net, second["key_id"], second["epoch"]), timeout=60)
        wait(lambda: asker.answered_at(second["epoch"]) >= 2, timeout=60)
    assert asker.failures == []
    # Answers only ever move forward: old epoch, then the first rotation's, then the second's.
    assert asker.epochs == sorted(asker.epochs)
    assert set(asker.epochs) == {first["epoch"], rotation["epoch"], second["epoch"]}
    # Both replaced keys are still on the ledger, active until the gateway retires them.
    for key_id in (first["key_id"], rotation["new_key_id"], second["key_id"]):
        row: Any = net.row("bank-c", "pub.oprf_keys", f"bank-a/{key_id}")
        assert isinstance(row, dict) and row["active"] is True


def test_a_list_that_is_not_published_is_refused(net: Net) -> None:
    data_dir = net.data_dir("bank-b")
    before = _bank_b_keys(net)
    result = net.cli("lists", "rotate-key", "high_risk_account", "--data-dir", str(data_dir))
    assert isinstance(result.exception, GatewayError), result.output
    assert "cannot rotate high_risk_account" in str(result.exception)
    assert _bank_b_keys(net) == before


def _bank_b_keys(net: Net) -> tuple[Any, ...]:
    """bank-b's index (list types, each key and commitment) and the keys it keeps."""
    data_dir = net.data_dir("bank-b")
    with IndexStore(data_dir / "index.sqlite", pool=None) as index:
        lists = tuple((lt, index.key(lt).key_id, index.commitment(lt)) for lt in index.list_types())
    kept = RetainedKeys(data_dir / "gateway.sqlite")
    try:
        return lists, tuple(kept.held())
    finally:
        kept.close()


def test_the_progress_bar_counts_entries_re_evaluated() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with _rotation_progress(LT, True, console) as update:
        assert update is not None
        for done in (4096, 8192, 10_000):
            update(done, 10_000)
            time.sleep(0.01)
    assert f"{LT}: re-evaluating under the new key" in screen.getvalue()
    assert "10000/10000" in screen.getvalue()
    with _rotation_progress(LT, False, console) as update:
        assert update is None
