"""Gateway configuration: one TOML file, overridable from the environment.

Rules:

- Every key has a type and a default except the few a gateway cannot guess
  (``member.id``, ``member.dir``, ``member.data_dir``, ``gateway.listen``).
- Unknown sections and keys are errors, so a typo never silently falls back to a
  default.
- ``RISKSHARE_<SECTION>_<KEY>`` (upper case) overrides ``[section] key``; the value is
  parsed as the key's type (``true``/``false``, integers, decimals, comma-separated lists).
- Relative paths are relative to the directory holding the config file.
- Every problem raises :class:`ConfigError` naming the key, never a traceback.
"""

from __future__ import annotations

import dataclasses
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway._errors import ConfigError

__all__ = [
    "Config",
    "DashboardSection",
    "GatewaySection",
    "LedgerSection",
    "LimitsSection",
    "LogSection",
    "MemberSection",
    "QuerySection",
    "load_config",
    "parse_config",
]

ENV_PREFIX = "RISKSHARE_"


@dataclass(frozen=True, slots=True)
class MemberSection:
    id: str = ""
    # The enrolment directory: ca.crt, tls.key, tls.crt, signing.key.
    dir: Path = Path()
    # Where this member keeps its ledger replica, index, staging and gateway state.
    data_dir: Path = Path()
    # Name of the environment variable holding the key passphrase, if keys are encrypted.
    passphrase_env: str = ""


@dataclass(frozen=True, slots=True)
class GatewaySection:
    listen: str = ""
    # Worker processes sharing the port; 0 means one per CPU.
    workers: int = 0
    # Threads per worker for blocking handlers.
    threads: int = 8
    admin_socket: Path = Path("admin.sock")
    metrics_listen: str = ""
    max_batch: int = 10_000
    grace_seconds: float = 5.0


@dataclass(frozen=True, slots=True)
class LedgerSection:
    # Ordering backend: "embedded" (one orderer process) or "etcd".
    ordering: str = "embedded"
    # host:port of the orderer's Ledger service; empty when this gateway orders.
    orderer: str = ""
    # Run the embedded orderer inside this gateway, on orderer_listen.
    serve_orderer: bool = False
    orderer_listen: str = ""
    # The sealed genesis block (riskshare consortium genesis seal); read once, when the
    # local replica is still empty.
    genesis: Path | None = None
    # Seconds between block cuts of the embedded orderer.
    block_interval: float = 0.2
    etcd_endpoints: list[str] = field(default_factory=list)
    # The consortium's key prefix in etcd; empty means the chain id in hex.
    etcd_namespace: str = ""
    # Client TLS towards etcd (docs/ETCD.md): the CA of the etcd members and, with
    # --client-cert-auth, this gateway's etcd client certificate and key (PEM files).
    etcd_ca: Path | None = None
    etcd_cert: Path | None = None
    etcd_key: Path | None = None
    poll_ms: int = 200


@dataclass(frozen=True, slots=True)
class LimitsSection:
    requests_per_second: float = 50.0
    elements_per_second: float = 50_000.0
    burst_seconds: float = 2.0


@dataclass(frozen=True, slots=True)
class QuerySection:
    deadline_ms: int = 5_000
    retries: int = 2
    snapshot_sync_seconds: float = 30.0
    purpose: str = "screening"
    legal_basis: str = "legitimate_interest"


@dataclass(frozen=True, slots=True)
class LogSection:
    level: str = "info"
    # Empty: standard error. Otherwise a file path (JSON lines).
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class DashboardSection:
    # The read-only web dashboard (gateway._dashboard, docs/DASHBOARD.md).
    enabled: bool = True
    bind: str = "127.0.0.1"
    # 0 picks a free port; the URL is written to <data_dir>/dashboard.url.
    port: int = 0
    # Required when bind is not a loopback address (better set RISKSHARE_DASHBOARD_TOKEN).
    token: str = ""
    probe_seconds: float = 10.0


@dataclass(frozen=True, slots=True)
class WatchSection:
    # Watchlists (gateway._watcher): how often the replica is polled for new epochs of
    # watched lists, and where alerts are POSTed as JSON (empty: nowhere).
    poll_seconds: float = 1.0
    webhook: str = ""


@dataclass(frozen=True, slots=True)
class Config:
    member: MemberSection
    gateway: GatewaySection
    ledger: LedgerSection = field(default_factory=LedgerSection)
    limits: LimitsSection = field(default_factory=LimitsSection)
    query: QuerySection = field(default_factory=QuerySection)
    log: LogSection = field(default_factory=LogSection)
    dashboard: DashboardSection = field(default_factory=DashboardSection)
    watch: WatchSection = field(default_factory=WatchSection)
    source: Path | None = None

    @property
    def ledger_path(self) -> Path:
        return self.member.data_dir / "ledger.sqlite"

    @property
    def state_path(self) -> Path:
        return self.member.data_dir / "gateway.sqlite"

    @property
    def index_path(self) -> Path:
        return self.member.data_dir / "index.sqlite"

    @property
    def watch_path(self) -> Path:
        return self.member.data_dir / "watch.sqlite"

    @property
    def snapshot_dir(self) -> Path:
        return self.member.data_dir / "snapshots"

    @property
    def passphrase(self) -> bytes | None:
        if not self.member.passphrase_env:
            return None
        value = os.environ.get(self.member.passphrase_env)
        if value is None:
            raise ConfigError(
                f"member.passphrase_env names ${self.member.passphrase_env}, which is not set"
            )
        return value.encode()

    @property
    def admin_socket(self) -> Path:
        socket = self.gateway.admin_socket
        return socket if socket.is_absolute() else self.member.data_dir / socket

    def worker_count(self) -> int:
        return self.gateway.workers or max(1, os.cpu_count() or 1)


_SECTIONS: dict[str, type[Any]] = {
    "member": MemberSection,
    "gateway": GatewaySection,
    "ledger": LedgerSection,
    "limits": LimitsSection,
    "query": QuerySection,
    "log": LogSection,
    "dashboard": DashboardSection,
    "watch": WatchSection,
}
_LOG_LEVELS = {"debug", "info", "warning", "error"}


def _base_type(hint: Any) -> Any:
    """``Path | None`` → ``Path``; anything else unchanged."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return args[0]
    return hint


def _coerce(where: str, hint: Any, value: Any, base: Path, from_env: bool) -> Any:
    kind = _base_type(hint)
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            if from_env:
                lowered = str(value).strip().lower()
                if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(value)
                return lowered in {"true", "1", "yes"}
            if not isinstance(value, bool):
                raise TypeError(value)
            return value
        if kind is int:
            if isinstance(value, bool) or (not from_env and not isinstance(value, int)):
                raise TypeError(value)
            return int(value)
        if kind is float:
            if isinstance(value, bool) or (not from_env and not isinstance(value, int | float)):
                raise TypeError(value)
            number = float(value)
            # TOML and float() both accept nan and inf; a nan limit compares false with
            # everything, so it would switch its check off rather than fail it.
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        if kind is str:
            if not from_env and not isinstance(value, str):
                raise TypeError(value)
            return str(value)
        if kind is Path:
            if not isinstance(value, str) or "\x00" in value:
                raise TypeError(value)
            try:
                path = Path(value).expanduser()
            except RuntimeError:  # "~user" for a user that does not exist
                raise ValueError(value) from None
            return path if path.is_absolute() else base / path
        if origin is list:
            if from_env:
                return [part.strip() for part in str(value).split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise TypeError(value)
            return list(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: expected {getattr(kind, '__name__', kind)}") from None
    raise ConfigError(f"{where}: unsupported type")  # pragma: no cover - schema bug


def _section(name: str, raw: Mapping[str, Any], env: Mapping[str, str], base: Path) -> Any:
    cls = _SECTIONS[name]
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = set(raw) - known
    if unknown:
        raise ConfigError(f"[{name}]: unknown key(s) {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key in known:
        env_name = f"{ENV_PREFIX}{name}_{key}".upper()
        if env_name in env:
            values[key] = _coerce(env_name, hints[key], env[env_name], Path.cwd(), True)
        elif key in raw:
            values[key] = _coerce(f"{name}.{key}", hints[key], raw[key], base, False)
    return cls(**values)


def parse_config(
    raw: Mapping[str, Any], *, base: Path, env: Mapping[str, str] | None = None
) -> Config:
    """Build and check a :class:`Config` from parsed TOML plus environment overrides."""
    env = os.environ if env is None else env
    unknown = set(raw) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(sorted(unknown))}")
    sections = {}
    for name in _SECTIONS:
        table = raw.get(name, {})
        if not isinstance(table, Mapping):
            raise ConfigError(f"[{name}] must be a table")
        sections[name] = _section(name, table, env, base)
    config = Config(**sections)
    _check(config)
    return config


def _check(config: Config) -> None:
    from gateway._pki import validate_member_id

    member, gateway = config.member, config.gateway
    if not member.id:
        raise ConfigError("member.id is required")
    try:
        validate_member_id(member.id)
    except Exception as exc:
        raise ConfigError(f"member.id: {exc}") from None
    if member.dir == Path():
        raise ConfigError("member.dir (the enrolment directory) is required")
    if member.data_dir == Path():
        raise ConfigError("member.data_dir is required")
    _check_address("gateway.listen", gateway.listen, required=True)
    _check_address("gateway.metrics_listen", gateway.metrics_listen, required=False)
    _check_address("ledger.orderer", config.ledger.orderer, required=False)
    if gateway.workers < 0 or gateway.workers > 256:
        raise ConfigError("gateway.workers must be between 0 (one per CPU) and 256")
    if gateway.threads < 1:
        raise ConfigError("gateway.threads must be at least 1")
    if not 1 <= gateway.max_batch <= 1_000_000:
        raise ConfigError("gateway.max_batch must be between 1 and 1000000")
    if gateway.grace_seconds < 0:
        raise ConfigError("gateway.grace_seconds must not be negative")
    if config.ledger.ordering not in {"embedded", "etcd"}:
        raise ConfigError("ledger.ordering must be 'embedded' or 'etcd'")
    if config.ledger.ordering == "etcd" and not config.ledger.etcd_endpoints:
        raise ConfigError("ledger.etcd_endpoints is required with ordering = 'etcd'")
    if (config.ledger.etcd_cert is None) != (config.ledger.etcd_key is None):
        raise ConfigError("ledger.etcd_cert and ledger.etcd_key go together")
    if config.ledger.etcd_cert is not None and config.ledger.etcd_ca is None:
        raise ConfigError("ledger.etcd_cert needs ledger.etcd_ca")
    if not config.ledger.orderer and not config.ledger.serve_orderer:
        raise ConfigError("set ledger.orderer (host:port) or ledger.serve_orderer = true")
    if config.ledger.serve_orderer:
        _check_address("ledger.orderer_listen", config.ledger.orderer_listen, required=True)
    if not 0.01 <= config.ledger.block_interval <= 60:
        raise ConfigError("ledger.block_interval must be between 0.01 and 60 seconds")
    limits = config.limits
    if min(limits.requests_per_second, limits.elements_per_second, limits.burst_seconds) <= 0:
        raise ConfigError("limits.* must be positive")
    if config.query.deadline_ms < 1 or config.query.retries < 0:
        raise ConfigError("query.deadline_ms must be positive and query.retries not negative")
    # sun_path holds 108 bytes on Linux, including the terminating NUL.
    if len(os.fsencode(config.admin_socket)) > 107:
        raise ConfigError(f"gateway.admin_socket: {config.admin_socket} is too long for a socket")
    if not 0 <= config.dashboard.port <= 65535 or config.dashboard.probe_seconds <= 0:
        raise ConfigError("dashboard.port must be 0-65535 and dashboard.probe_seconds positive")
    if not 0.05 <= config.watch.poll_seconds <= 3600:
        raise ConfigError("watch.poll_seconds must be between 0.05 and 3600")
    if config.watch.webhook and not config.watch.webhook.startswith(("http://", "https://")):
        raise ConfigError("watch.webhook must be an http:// or https:// URL")
    if config.log.level not in _LOG_LEVELS:
        raise ConfigError(f"log.level must be one of {', '.join(sorted(_LOG_LEVELS))}")


def _check_address(key: str, value: str, *, required: bool) -> None:
    if not value:
        if required:
            raise ConfigError(f"{key} is required (host:port)")
        return
    host, sep, port = value.rpartition(":")
    # isdigit() alone admits "²" and other digits int() refuses or reads differently.
    if not sep or not host or not (port.isascii() and port.isdigit()) or int(port) > 65535:
        raise ConfigError(f"{key}: {value!r} is not host:port")


def load_config(path: Path, env: Mapping[str, str] | None = None) -> Config:
    """Read ``path`` (TOML) and apply environment overrides."""
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    config = parse_config(raw, base=path.resolve().parent, env=env)
    return dataclasses.replace(config, source=path.resolve())
