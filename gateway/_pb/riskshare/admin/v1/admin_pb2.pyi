from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PeerStatus(_message.Message):
    __slots__ = ("member_id", "address", "reachable", "snapshots")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REACHABLE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    address: str
    reachable: bool
    snapshots: _containers.RepeatedCompositeFieldContainer[SnapshotStatus]
    def __init__(self, member_id: _Optional[str] = ..., address: _Optional[str] = ..., reachable: bool = ..., snapshots: _Optional[_Iterable[_Union[SnapshotStatus, _Mapping]]] = ...) -> None: ...

class SnapshotStatus(_message.Message):
    __slots__ = ("list_type", "epoch", "size", "verified")
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    epoch: int
    size: int
    verified: bool
    def __init__(self, list_type: _Optional[str] = ..., epoch: _Optional[int] = ..., size: _Optional[int] = ..., verified: bool = ...) -> None: ...

class StatusResponse(_message.Message):
    __slots__ = ("member_id", "ledger_height", "ledger_head", "own_lists", "peers", "workers", "normaliser_version", "role", "backlog", "dashboard_url")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    LEDGER_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_HEAD_FIELD_NUMBER: _ClassVar[int]
    OWN_LISTS_FIELD_NUMBER: _ClassVar[int]
    PEERS_FIELD_NUMBER: _ClassVar[int]
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    NORMALISER_VERSION_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    BACKLOG_FIELD_NUMBER: _ClassVar[int]
    DASHBOARD_URL_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    ledger_height: int
    ledger_head: bytes
    own_lists: _containers.RepeatedCompositeFieldContainer[SnapshotStatus]
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    workers: int
    normaliser_version: str
    role: str
    backlog: Backlog
    dashboard_url: str
    def __init__(self, member_id: _Optional[str] = ..., ledger_height: _Optional[int] = ..., ledger_head: _Optional[bytes] = ..., own_lists: _Optional[_Iterable[_Union[SnapshotStatus, _Mapping]]] = ..., peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ..., workers: _Optional[int] = ..., normaliser_version: _Optional[str] = ..., role: _Optional[str] = ..., backlog: _Optional[_Union[Backlog, _Mapping]] = ..., dashboard_url: _Optional[str] = ...) -> None: ...

class Backlog(_message.Message):
    __slots__ = ("pending", "submitted", "refused", "committed", "oldest_ms", "hit_reports")
    PENDING_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_FIELD_NUMBER: _ClassVar[int]
    REFUSED_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    OLDEST_MS_FIELD_NUMBER: _ClassVar[int]
    HIT_REPORTS_FIELD_NUMBER: _ClassVar[int]
    pending: int
    submitted: int
    refused: int
    committed: int
    oldest_ms: int
    hit_reports: int
    def __init__(self, pending: _Optional[int] = ..., submitted: _Optional[int] = ..., refused: _Optional[int] = ..., committed: _Optional[int] = ..., oldest_ms: _Optional[int] = ..., hit_reports: _Optional[int] = ...) -> None: ...

class QueryRequest(_message.Message):
    __slots__ = ("list_type", "id_type", "values", "members", "all", "purpose", "deadline_ms", "bucket_mode", "legal_basis", "consent_ref")
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    DEADLINE_MS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_MODE_FIELD_NUMBER: _ClassVar[int]
    LEGAL_BASIS_FIELD_NUMBER: _ClassVar[int]
    CONSENT_REF_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    id_type: str
    values: _containers.RepeatedScalarFieldContainer[str]
    members: _containers.RepeatedScalarFieldContainer[str]
    all: bool
    purpose: str
    deadline_ms: int
    bucket_mode: bool
    legal_basis: str
    consent_ref: str
    def __init__(self, list_type: _Optional[str] = ..., id_type: _Optional[str] = ..., values: _Optional[_Iterable[str]] = ..., members: _Optional[_Iterable[str]] = ..., all: bool = ..., purpose: _Optional[str] = ..., deadline_ms: _Optional[int] = ..., bucket_mode: bool = ..., legal_basis: _Optional[str] = ..., consent_ref: _Optional[str] = ...) -> None: ...

class Rejected(_message.Message):
    __slots__ = ("index", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    reason: str
    def __init__(self, index: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class MemberAnswer(_message.Message):
    __slots__ = ("member_id", "hits", "error_code", "error", "receipt", "epoch", "labels", "attempts", "refunded")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    HITS_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    hits: _containers.RepeatedScalarFieldContainer[bool]
    error_code: str
    error: str
    receipt: bytes
    epoch: int
    labels: _containers.RepeatedCompositeFieldContainer[Label]
    attempts: int
    refunded: bool
    def __init__(self, member_id: _Optional[str] = ..., hits: _Optional[_Iterable[bool]] = ..., error_code: _Optional[str] = ..., error: _Optional[str] = ..., receipt: _Optional[bytes] = ..., epoch: _Optional[int] = ..., labels: _Optional[_Iterable[_Union[Label, _Mapping]]] = ..., attempts: _Optional[int] = ..., refunded: bool = ...) -> None: ...

class Label(_message.Message):
    __slots__ = ("present", "reason", "listed_month", "expires_day")
    PRESENT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    LISTED_MONTH_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_DAY_FIELD_NUMBER: _ClassVar[int]
    present: bool
    reason: int
    listed_month: int
    expires_day: int
    def __init__(self, present: bool = ..., reason: _Optional[int] = ..., listed_month: _Optional[int] = ..., expires_day: _Optional[int] = ...) -> None: ...

class QueryResponse(_message.Message):
    __slots__ = ("answers", "rejected", "accepted")
    ANSWERS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    answers: _containers.RepeatedCompositeFieldContainer[MemberAnswer]
    rejected: _containers.RepeatedCompositeFieldContainer[Rejected]
    accepted: int
    def __init__(self, answers: _Optional[_Iterable[_Union[MemberAnswer, _Mapping]]] = ..., rejected: _Optional[_Iterable[_Union[Rejected, _Mapping]]] = ..., accepted: _Optional[int] = ...) -> None: ...

class SyncRequest(_message.Message):
    __slots__ = ("members",)
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    members: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, members: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncResponse(_message.Message):
    __slots__ = ("peers",)
    PEERS_FIELD_NUMBER: _ClassVar[int]
    peers: _containers.RepeatedCompositeFieldContainer[PeerStatus]
    def __init__(self, peers: _Optional[_Iterable[_Union[PeerStatus, _Mapping]]] = ...) -> None: ...

class ReloadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadResponse(_message.Message):
    __slots__ = ("own_lists",)
    OWN_LISTS_FIELD_NUMBER: _ClassVar[int]
    own_lists: _containers.RepeatedCompositeFieldContainer[SnapshotStatus]
    def __init__(self, own_lists: _Optional[_Iterable[_Union[SnapshotStatus, _Mapping]]] = ...) -> None: ...

class SubmitRequest(_message.Message):
    __slots__ = ("kind", "body", "wait", "timeout_ms")
    KIND_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    body: bytes
    wait: bool
    timeout_ms: int
    def __init__(self, kind: _Optional[str] = ..., body: _Optional[bytes] = ..., wait: bool = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class SubmitSignedRequest(_message.Message):
    __slots__ = ("transaction", "wait", "timeout_ms")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    transaction: bytes
    wait: bool
    timeout_ms: int
    def __init__(self, transaction: _Optional[bytes] = ..., wait: bool = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("tx_id", "accepted", "in_block", "height", "ok", "reason")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    IN_BLOCK_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    OK_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    tx_id: bytes
    accepted: bool
    in_block: bool
    height: int
    ok: bool
    reason: str
    def __init__(self, tx_id: _Optional[bytes] = ..., accepted: bool = ..., in_block: bool = ..., height: _Optional[int] = ..., ok: bool = ..., reason: _Optional[str] = ...) -> None: ...
