"""End to end: three member gateways and the orderer as separate processes, real mTLS.

Each gateway is `riskshare gateway serve` (supervisor + worker processes). Lists go in
through the adapters' import before start; the gateways commit them on the ledger.
Checked here:

- answers against ground truth, receipts on every replica, identical head hashes;
- both worker processes of a two-worker gateway answer evaluations (the ``worker``
  label of its Prometheus counters), when a peer opens many connections;
- its per-peer rate limit holds for the gateway, not for each worker: a peer sending
  faster than the limit over seconds, on connections spread over both workers, gets
  no more than the limit allows and a precise refusal for the rest, leaving no
  receipt, while a peer under the limit is served;
- each hostile request gets a precise gRPC status and leaves no receipt that charges
  anyone: a certificate from another CA, a replayed request, a request over its credit
  and over its rate limit, a malformed blinded element, a normaliser-version mismatch,
  and (last, because it changes membership) a removed member;
- no identifier, in clear or as a plain hash, in any ledger table or any log written
  during the run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway import load_member_credentials, probe_refuses_tls12
from gateway._client import AdminClient, gateway_status
from gateway._ledger_client import RemoteOrderer, TxSubmitter
from gateway._localnet import LocalConsortium, create_local_consortium, free_ports, load_list
from gateway._localstate import LocalState
from gateway._pb.riskshare.psi.v1 import psi_pb2
from gateway._peers import open_channel
from gateway._processes import GatewayProcess, start_gateways, stop_gateways
from gateway._status import REASON_KEY
from gateway._stubs import psi_stub
from gateway._tls import channel_credentials
from ledger import Store, approve_body, propose_body
from tests._rpc import phone_request
from tests._terminal import run_on_terminal
from tests.gateway.conftest import make_consortium
from token_incentive import SignedRequest, blinded_digest

LIST = "transaction_fraud"
LISTS = {
    "bank-a": [(LIST, "phone", "13800138000", 1), (LIST, "phone", "13912345678", 2)],
    "bank-b": [(LIST, "phone", "13800138000", 3), (LIST, "phone", "15011112222", 1)],
    "bank-c": [(LIST, "phone", "18600001111", 1), (LIST, "cn_id", "11010519491231002X", 4)],
}
UNLISTED = ["13511112222", "17700001111"]
# bank-a's elements per second, with a one-second burst (two workers share it).
A_RATE = 100.0
ALL_VALUES = sorted(
    {row[2] for rows in LISTS.values() for row in rows if row[1] == "phone"} | set(UNLISTED)
)


@dataclass
class Running:
    net: LocalConsortium
    gateways: dict[str, GatewayProcess]

    def store(self, member_id: str) -> Store:
        return Store(self.net.member(member_id).data_dir / "ledger.sqlite", create=False)

    def admin(self, member_id: str) -> AdminClient:
        return AdminClient(self.net.members[member_id].data_dir / "admin.sock")

    def receipts(self) -> dict[str, set[str]]:
        out = {}
        for member_id in ["orderer", *self.net.members]:
            with self.store(member_id) as store:
                out[member_id] = {key for key, _ in store.state().scan("credits.receipts")}
        return out

    def heads(self) -> dict[str, tuple[int, bytes]]:
        out = {}
        for member_id in ["orderer", *self.net.members]:
            with self.store(member_id) as store:
                head = store.head()
                assert head is not None
                out[member_id] = (head.height, head.hash)
        return out

    def answered(self, member_id: str) -> int:
        local = LocalState(self.net.members[member_id].data_dir / "gateway.sqlite")
        try:
            return sum(local.counts().values())
        finally:
            local.close()


def _wait(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def _settled(run: Running, expected: set[str]) -> None:
    """Every replica holds exactly ``expected`` receipts and all heads agree."""

    def done() -> bool:
        receipts = run.receipts()
        heads = set(run.heads().values())
        return all(r == expected for r in receipts.values()) and len(heads) == 1

    _wait(done)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root: Path = tmp_path_factory.mktemp("e2e")
    net = create_local_consortium(root, list(LISTS), workers=1)
    # bank-a allows 100 elements per second (burst 1 s): the rate-limit cases below.
    # It runs two workers and serves Prometheus metrics aggregated over both.
    config = net.members["bank-a"].config_path
    metrics_port = free_ports(1)[0]
    config.write_text(
        config.read_text()
        .replace(
            "elements_per_second = 200000.0",
            f"elements_per_second = {A_RATE}\nburst_seconds = 1.0",
        )
        .replace("workers = 1", "workers = 2")
        .replace(
            "grace_seconds = 2.0",
            f'grace_seconds = 2.0\nmetrics_listen = "127.0.0.1:{metrics_port}"',
        )
    )
    for member_id, rows in LISTS.items():
        load_list(net.members[member_id], rows)
    gateways = start_gateways(net)
    running = Running(net, gateways)
    try:

        def published() -> bool:
            for member_id in LISTS:
                with running.admin(member_id) as client:
                    lists = client.status().own_lists
                if not lists or not all(row.verified for row in lists):
                    return False
            return True

        _wait(published, timeout=60)
        yield running
    finally:
        codes = stop_gateways(gateways)
        assert all(code == 0 for code in codes.values()), codes


def test_answers_receipts_and_heads(run: Running) -> None:
    before = run.receipts()["orderer"]
    made: set[str] = set()
    for querier in LISTS:
        with run.admin(querier) as client:
            reply = client.query(LIST, "phone", [*ALL_VALUES, "not-a-phone"])
        assert [r.index for r in reply.rejected] == [len(ALL_VALUES)]
        others = sorted(m for m in LISTS if m != querier)
        assert sorted(a.member_id for a in reply.answers) == others
        for answer in reply.answers:
            assert answer.error_code == "", answer.error
            truth = {row[2] for row in LISTS[answer.member_id] if row[1] == "phone"}
            assert list(answer.hits) == [v in truth for v in ALL_VALUES]
            made.add(answer.receipt.decode())
    # A cn_id from one chosen member; its label opens with the reason code.
    with run.admin("bank-a") as client:
        reply = client.query(LIST, "cn_id", ["11010519491231002x"], members=["bank-c"])
    (answer,) = reply.answers
    assert list(answer.hits) == [True] and answer.labels[0].reason == 4
    made.add(answer.receipt.decode())
    _settled(run, before | made)
    heights = {height for height, _ in run.heads().values()}
    assert len(heights) == 1


def test_serving_line_and_status_name_the_dashboard_and_the_backlog(run: Running) -> None:
    for member_id in ("orderer", *LISTS):
        url = run.gateways[member_id].info["dashboard_url"]
        assert url.startswith("http://127.0.0.1:"), url
    for member_id in LISTS:
        config = run.net.members[member_id].config_path
        status = gateway_status(config)
        assert status["dashboard_url"] == run.gateways[member_id].info["dashboard_url"]
        assert status["role"] == "member"
        backlog = status["backlog"]
        states = ("pending", "submitted", "refused", "committed")
        assert sum(backlog[state] for state in states) == run.answered(member_id)
        with urllib.request.urlopen(status["dashboard_url"], timeout=10) as page:
            assert page.status == 200


def _craft(
    run: Running,
    querier: str,
    responder: str,
    values: list[str],
    *,
    normaliser: str = "v1",
    blinded: bytes | None = None,
) -> Any:
    """An EvaluateRequest as a (possibly hostile) querier builds it."""
    creds = load_member_credentials(run.net.members[querier].member_dir)
    with run.store(responder) as store:
        row: Any = store.state().get("pub.index", f"{responder}/{LIST}")
    # The request commits to the bytes sent, so a malformed element is refused by the
    # point check, not as a request that commits to other elements.
    over: dict[str, Any] = {"normaliser_version": normaliser}
    if blinded is not None:
        elements = [blinded[i : i + 32] for i in range(0, len(blinded), 32)]
        over["blinded_digest"] = blinded_digest(elements)
    signed, pending = phone_request(querier, responder, values, creds.signing_key, **over)
    sent = pending.request() if blinded is None else blinded
    return psi_pb2.EvaluateRequest(
        list_type=LIST,
        normaliser_version=normaliser,
        signed_request=signed.to_bytes(),
        blinded=sent,
        key_id=row["key_id"],
    )


def _call(run: Running, querier: str, responder: str, request: Any, **kw: Any) -> Any:
    creds = load_member_credentials(run.net.members[querier].member_dir)
    channel = open_channel(creds, run.net.members[responder].address)
    try:
        return psi_stub(channel).EvaluateBatch(request, timeout=30, **kw)
    finally:
        channel.close()


def _refused(run: Running, querier: str, responder: str, request: Any) -> tuple[str, str]:
    with pytest.raises(grpc.RpcError) as info:
        _call(run, querier, responder, request)
    error: Any = info.value
    return error.code().name, dict(error.trailing_metadata() or ()).get(REASON_KEY, "")


def _marker(run: Running, receipts: set[str]) -> set[str]:
    """A legitimate query, so the hostile ones have had every chance to be recorded."""
    with run.admin("bank-b") as client:
        reply = client.query(LIST, "phone", ["13800138000"], members=["bank-a"])
    assert reply.answers[0].hits == [True]
    expected = receipts | {reply.answers[0].receipt.decode()}
    _settled(run, expected)
    return expected


def test_hostile_requests_get_precise_status_and_leave_no_receipt(
    run: Running, tmp_path: Path
) -> None:
    _settled(run, run.receipts()["orderer"])
    receipts = run.receipts()["orderer"]
    answered = run.answered("bank-a")

    # A replayed request: the first is answered (and charged once), the copy refused.
    request = _craft(run, "bank-c", "bank-a", ["13800138000"])
    first = SignedRequest.from_bytes(bytes(request.signed_request)).receipt_id
    _call(run, "bank-c", "bank-a", request)
    assert _refused(run, "bank-c", "bank-a", request) == ("ALREADY_EXISTS", "replay")
    _wait(lambda: run.answered("bank-a") == answered + 1)
    receipts = _marker(run, receipts | {first})
    answered = run.answered("bank-a")
    replay_receipts = receipts

    cases = {
        # 2500 items at 1 credit each pass the 2000-credit overdraft of a fresh member.
        "credit": (
            _craft(run, "bank-c", "bank-b", [f"139{n:08d}" for n in range(2500)]),
            "bank-b",
            ("RESOURCE_EXHAUSTED", "over_overdraft"),
        ),
        # bank-a allows 100 elements per second with a one-second burst.
        "rate": (
            _craft(run, "bank-c", "bank-a", [f"137{n:08d}" for n in range(150)]),
            "bank-a",
            ("RESOURCE_EXHAUSTED", "rate_limited"),
        ),
        "malformed": (
            _craft(run, "bank-c", "bank-a", ["13800138000"], blinded=b"\xff" * 32),
            "bank-a",
            ("INVALID_ARGUMENT", "malformed"),
        ),
        "normaliser": (
            _craft(run, "bank-c", "bank-a", ["13800138000"], normaliser="v0"),
            "bank-a",
            ("FAILED_PRECONDITION", "version_mismatch"),
        ),
    }
    for name, (request, responder, expected) in cases.items():
        assert _refused(run, "bank-c", responder, request) == expected, name

    # A certificate from another CA: refused during the handshake.
    other = make_consortium(tmp_path / "other", ["bank-c"])
    channel = open_channel(other.credentials("bank-c"), run.net.members["bank-a"].address)
    with pytest.raises(grpc.RpcError) as info:
        psi_stub(channel).GetInfo(psi_pb2.GetInfoRequest(), timeout=10)
    channel.close()
    assert info.value.code() == grpc.StatusCode.UNAVAILABLE

    assert run.answered("bank-a") == answered
    receipts = _marker(run, receipts)
    assert len(receipts - replay_receipts) == 1  # only the marker's


def _riskshare_args(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from cli import main; main()", *args]


def _riskshare(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        _riskshare_args(*args),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_query_cli_exit_codes_and_files(run: Running, tmp_path: Path) -> None:
    config = str(run.net.members["bank-b"].config_path)
    hit = _riskshare("query", "138-0013-8000", "--list", LIST, "--all", "--config", config)
    assert hit.returncode == 0, hit.stdout + hit.stderr
    assert "HIT" in hit.stdout and "bank-a" in hit.stdout
    miss = _riskshare("query", UNLISTED[0], "--member", "bank-c", "--config", config, "--json")
    assert miss.returncode == 1, miss.stdout + miss.stderr
    answer = json.loads(miss.stdout)
    assert answer["hits"] == 0 and answer["answers"][0]["member"] == "bank-c"
    ids = tmp_path / "ids.csv"
    ids.write_text("value\n13800138000\n18600001111\n17700001111\nbad\n")
    out = tmp_path / "out.csv"
    screened = _riskshare(
        "query", "--file", str(ids), "--id-type", "phone", "--out", str(out), "--config", config
    )
    assert screened.returncode == 0, screened.stdout + screened.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["status"] for r in rows] == ["hit", "hit", "no_hit", "rejected:phone_format"]
    assert rows[0]["members"] == "bank-a" and rows[1]["members"] == "bank-c"
    broken = _riskshare("query", "x", "--config", str(tmp_path / "absent.toml"))
    assert broken.returncode == 2 and "no such config file" in broken.stderr


def test_query_file_draws_a_progress_bar_counting_identifiers(run: Running, tmp_path: Path) -> None:
    # Over 1000 identifiers (one batch) on a terminal: the bar counts them all, rejected
    # ones too. Nine in ten are malformed, so the two runs cost bank-b little credit;
    # only bank-c is asked, as bank-a's element rate is kept low for the tests.
    config = str(run.net.members["bank-b"].config_path)
    values = [f"135{n:08d}" if n % 10 == 0 else f"bad-{n}" for n in range(1000)]
    values.append("18600001111")
    ids = tmp_path / "ids.csv"
    ids.write_text("value\n" + "\n".join(values) + "\n")
    args = ["query", "--file", str(ids), "--member", "bank-c", "--config", config]
    _settled(run, run.receipts()["orderer"])
    before = run.receipts()["orderer"]
    code, out, screen = run_on_terminal(_riskshare_args(*args))
    assert code == 0, out + screen
    assert "101 of 1001 identifiers queried" in out and "1 listed" in out
    assert "bank-c           1 hit(s), 2 receipt(s)" in out  # one per batch of 1000
    assert re.search(r"querying .*1001/1001", screen), screen[-2000:]
    # --json is for scripts: no bar, even on a terminal.
    code, out, screen = run_on_terminal(_riskshare_args(*args, "--json"))
    assert code == 0, out + screen
    result = json.loads(out)
    assert (result["queried"], result["hits"]) == (1001, 1)
    assert "querying" not in screen
    # The four receipts reach every replica before the next test counts receipts.
    made = set(result["answers"][0]["receipts"])

    def recorded() -> bool:
        receipts = run.receipts()
        new = receipts["orderer"] - before
        return (
            len(new) == 4
            and made <= new
            and all(r == receipts["orderer"] for r in receipts.values())
        )

    _wait(recorded)


def test_daemon_port_refuses_tls12_and_serves_metrics(run: Running) -> None:
    member = run.net.members["bank-a"]
    host, _, port = member.address.rpartition(":")
    assert probe_refuses_tls12(
        host,
        int(port),
        ca_file=member.member_dir / "ca.crt",
        cert_file=member.member_dir / "tls.crt",
        key_file=member.member_dir / "tls.key",
    )
    text = (
        urllib.request.urlopen(f"http://{run.gateways['bank-a'].info['metrics_listen']}/metrics")
        .read()
        .decode()
    )
    served = [
        line
        for line in text.splitlines()
        if line.startswith("riskshare_rpc_total{") and "EvaluateBatch" in line
    ]
    assert served and sum(float(line.rsplit(" ", 1)[1]) for line in served) >= 2
    assert "riskshare_elements_evaluated_total" in text


def _separate_channels(run: Running, querier: str, responder: str, count: int) -> list[Any]:
    """``count`` channels, each on a TCP connection of its own, all connected."""
    creds = load_member_credentials(run.net.members[querier].member_dir)
    tls = channel_credentials(creds.tls_key_pem, creds.certificate_pem, creds.ca_pem)
    # gRPC otherwise shares one connection between channels with identical arguments,
    # and the kernel places a connection, not a call, on one of the workers.
    options = [("grpc.use_local_subchannel_pool", 1)]
    address = run.net.members[responder].address
    channels = [grpc.secure_channel(address, tls, options=options) for _ in range(count)]
    for channel in channels:
        grpc.channel_ready_future(channel).result(timeout=60)
    return channels


def _served_by_worker(run: Running, member_id: str, method: str) -> dict[str, float]:
    """Calls of ``method`` answered OK, per ``worker`` label, from the gateway's metrics."""
    url = f"http://{run.gateways[member_id].info['metrics_listen']}/metrics"
    with urllib.request.urlopen(url, timeout=30) as page:
        text = page.read().decode()
    served: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith("riskshare_rpc_total{"):
            continue
        head, _, value = line.rpartition(" ")
        labels = dict(re.findall(r'(\w+)="([^"]*)"', head))
        if labels["method"].endswith(f"/{method}") and labels["code"] == "OK":
            served[labels["worker"]] = served.get(labels["worker"], 0.0) + float(value)
    return served


def test_every_worker_answers_evaluations(run: Running) -> None:
    # bank-a runs two workers on one port. 24 connections at once: the kernel puts them
    # all on the same worker with probability 2 x 2^-24.
    receipts = run.receipts()["orderer"]
    before = _served_by_worker(run, "bank-a", "EvaluateBatch")
    requests = [_craft(run, "bank-b", "bank-a", [UNLISTED[0]]) for _ in range(24)]
    channels = _separate_channels(run, "bank-b", "bank-a", len(requests))
    try:
        with ThreadPoolExecutor(len(channels)) as pool:
            replies = list(
                pool.map(
                    lambda pair: psi_stub(pair[0]).EvaluateBatch(pair[1], timeout=60),
                    zip(channels, requests, strict=True),
                )
            )
    finally:
        for channel in channels:
            channel.close()
    assert all(len(reply.evaluated) == 32 for reply in replies)
    after = _served_by_worker(run, "bank-a", "EvaluateBatch")
    served = {worker: count - before.get(worker, 0.0) for worker, count in after.items()}
    assert sum(served.values()) == len(requests)
    assert sorted(worker for worker, count in served.items() if count > 0) == ["0", "1"], served
    made = {SignedRequest.from_bytes(bytes(r.signed_request)).receipt_id for r in requests}
    _settled(run, receipts | made)


def test_the_rate_limit_holds_for_the_gateway_not_each_worker(run: Running) -> None:
    # bank-c sends 50-element batches to bank-a from three threads, each over four
    # connections of its own (so both workers see it), for at least three seconds:
    # far above bank-a's 100 elements per second. bank-b meanwhile sends one element
    # every 0.1 s, well under it. Per-worker buckets would let bank-c through twice.
    receipts = run.receipts()["orderer"]
    answered = run.answered("bank-a")
    burst = A_RATE  # burst_seconds = 1
    flood = [_separate_channels(run, "bank-c", "bank-a", 4) for _ in range(3)]
    calm = _separate_channels(run, "bank-b", "bank-a", 1)
    lock = threading.Lock()
    admitted: list[str] = []  # receipt ids of bank-c's answered batches
    refusals: list[tuple[str, str, str]] = []
    served: list[str] = []  # bank-b's
    calm_failures: list[str] = []
    done = threading.Event()

    def send(channel: Any, querier: str, values: list[str]) -> tuple[str, Any]:
        request = _craft(run, querier, "bank-a", values)
        receipt = SignedRequest.from_bytes(bytes(request.signed_request)).receipt_id
        try:
            return receipt, psi_stub(channel).EvaluateBatch(request, timeout=60)
        except grpc.RpcError as exc:
            return receipt, exc

    def flooder(channels: list[Any], start: int) -> None:
        n = start
        while not done.is_set():
            values = [f"136{(n * 50 + i) % 10**8:08d}" for i in range(50)]
            receipt, outcome = send(channels[n % len(channels)], "bank-c", values)
            n += 1
            with lock:
                if isinstance(outcome, grpc.RpcError):
                    error: Any = outcome
                    reason = dict(error.trailing_metadata() or ()).get(REASON_KEY, "")
                    refusals.append((error.code().name, reason, error.details() or ""))
                else:
                    admitted.append(receipt)
            time.sleep(0.025)

    def calm_sender() -> None:
        while not done.is_set():
            receipt, outcome = send(calm[0], "bank-b", [UNLISTED[1]])
            if isinstance(outcome, grpc.RpcError):
                calm_failures.append(f"{outcome.code().name}: {outcome.details()}")
            else:
                served.append(receipt)
            time.sleep(0.1)

    threads = [
        threading.Thread(target=flooder, args=(channels, k), daemon=True)
        for k, channels in enumerate(flood)
    ]
    threads.append(threading.Thread(target=calm_sender, daemon=True))
    started = time.monotonic()
    for thread in threads:
        thread.start()
    try:
        # At least three seconds, and until bank-c got more than one burst's worth
        # (so buckets refilled and were drained again); a slow machine just takes longer.
        deadline = started + 180
        while time.monotonic() < deadline:
            time.sleep(0.2)
            with lock:
                enough = len(admitted) * 50 > burst and len(refusals) > 0
            if enough and time.monotonic() - started >= 3:
                break
        done.set()
        for thread in threads:
            thread.join(timeout=120)
        elapsed = time.monotonic() - started
    finally:
        done.set()
        for channel in [*calm, *(c for channels in flood for c in channels)]:
            channel.close()

    assert len(admitted) * 50 > burst, (admitted, refusals)
    # Nothing beyond one burst plus the refill over the whole run, gateway-wide.
    assert len(admitted) * 50 <= burst + A_RATE * elapsed, (len(admitted), elapsed)
    assert refusals and all(r[:2] == ("RESOURCE_EXHAUSTED", "rate_limited") for r in refusals)
    assert any("elements rate limit exceeded" in r[2] for r in refusals), refusals[:3]
    assert calm_failures == [] and served
    # Only the answered batches are on the ledger: refusals left no receipt.
    _settled(run, receipts | set(admitted) | set(served))
    assert run.answered("bank-a") == answered + len(admitted) + len(served)
    time.sleep(burst / A_RATE)  # give bank-c its burst back for the tests after this one


def test_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "member.toml"
    bad.write_text('[member]\nid = "bank-z"\n[gateway]\nlisten = "nowhere"\n')
    result = _riskshare("gateway", "serve", "--config", str(bad))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: member.dir")


def _governance(run: Running, member_id: str, kind: str, body: dict[str, Any]) -> bytes:
    member = run.net.members[member_id]
    creds = load_member_credentials(member.member_dir)
    channel = open_channel(creds, run.net.orderer.address)
    store = run.store(member_id)
    local = LocalState(member.data_dir / "gateway.sqlite")
    try:
        submitter = TxSubmitter(member_id, creds.signing_key, store, local, RemoteOrderer(channel))
        result = submitter.submit(kind, body, wait=True)
        assert result.ok, result.reason
        return result.tx_id
    finally:
        local.close()
        store.close()
        channel.close()


def test_removed_member_is_refused(run: Running) -> None:
    receipts = run.receipts()["orderer"]
    request = _craft(run, "bank-c", "bank-a", ["13800138000"])
    # bank-c leaves: with three voters, removal needs all three approvals.
    proposal = _governance(run, "bank-a", "gov.propose", propose_body("remove", {"id": "bank-c"}))
    for member_id in ("bank-b", "bank-c"):
        _governance(run, member_id, "gov.approve", approve_body(proposal.hex()))

    def removed_everywhere() -> bool:
        for member_id in ("bank-a", "bank-b"):
            with run.store(member_id) as store:
                row: Any = store.state().get("gov.members", "bank-c")
                if row["status"] != "removed":
                    return False
        return True

    _wait(removed_everywhere)
    assert _refused(run, "bank-c", "bank-a", request) == ("UNAUTHENTICATED", "unauthenticated")
    with run.admin("bank-c") as client:
        reply = client.query(LIST, "phone", ["13800138000"], members=["bank-b"])
    assert reply.answers[0].error_code == "UNAUTHENTICATED"
    _settled(run, run.receipts()["orderer"])
    assert run.receipts()["orderer"] == receipts


def _forms(value: str) -> list[bytes]:
    raw = value.encode()
    forms = [raw, raw.upper(), raw.lower()]
    for name in ("sha256", "sha1", "md5", "sha512", "blake2b"):
        digest = hashlib.new(name, raw).digest()
        forms += [digest, digest.hex().encode(), digest.hex().upper().encode()]
    return forms


def test_no_identifier_in_ledger_or_logs(run: Running) -> None:
    # Last in the module: everything above wrote to the ledgers and logs by now.
    values = set(ALL_VALUES) | {row[2] for rows in LISTS.values() for row in rows}
    values |= {"11010519491231002x", "not-a-phone"}
    files: list[Path] = []
    for member_id in ["orderer", *LISTS]:
        data = run.net.member(member_id).data_dir
        files += [p for p in data.glob("ledger.sqlite*")]
        files += [p for p in data.glob("gateway.log*")]
    assert any(p.name == "ledger.sqlite" for p in files) and any(
        p.name == "gateway.log" for p in files
    )
    blobs = {str(p): p.read_bytes() for p in files}
    blobs["process output"] = "".join("".join(g.output) for g in run.gateways.values()).encode()
    # The scan can see an identifier where one is: the member's own import file has them.
    own = (run.net.root / "lists" / "bank-a" / "core-blacklist.csv").read_bytes()
    assert any(form in own for form in _forms("13800138000"))
    leaks = [
        (where, value)
        for value in sorted(values)
        for form in _forms(value)
        for where, blob in blobs.items()
        if form in blob
    ]
    assert leaks == []
