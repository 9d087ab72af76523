from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListInfo(_message.Message):
    __slots__ = ("list_type", "id_types", "epoch", "size", "key_id", "labels")
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_TYPES_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    id_types: _containers.RepeatedScalarFieldContainer[str]
    epoch: int
    size: int
    key_id: str
    labels: bool
    def __init__(self, list_type: _Optional[str] = ..., id_types: _Optional[_Iterable[str]] = ..., epoch: _Optional[int] = ..., size: _Optional[int] = ..., key_id: _Optional[str] = ..., labels: bool = ...) -> None: ...

class GatewayInfo(_message.Message):
    __slots__ = ("member_id", "normaliser_version", "lists", "software_version", "max_batch", "ledger_height", "ledger_head")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    NORMALISER_VERSION_FIELD_NUMBER: _ClassVar[int]
    LISTS_FIELD_NUMBER: _ClassVar[int]
    SOFTWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    MAX_BATCH_FIELD_NUMBER: _ClassVar[int]
    LEDGER_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_HEAD_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    normaliser_version: str
    lists: _containers.RepeatedCompositeFieldContainer[ListInfo]
    software_version: str
    max_batch: int
    ledger_height: int
    ledger_head: bytes
    def __init__(self, member_id: _Optional[str] = ..., normaliser_version: _Optional[str] = ..., lists: _Optional[_Iterable[_Union[ListInfo, _Mapping]]] = ..., software_version: _Optional[str] = ..., max_batch: _Optional[int] = ..., ledger_height: _Optional[int] = ..., ledger_head: _Optional[bytes] = ...) -> None: ...

class GetCommitmentRequest(_message.Message):
    __slots__ = ("list_type",)
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    def __init__(self, list_type: _Optional[str] = ...) -> None: ...

class IndexCommitment(_message.Message):
    __slots__ = ("member_id", "list_type", "epoch", "size", "root", "snapshot_digest", "key_id", "expires_at", "ledger_height", "normaliser_version", "label_bytes")
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ROOT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_DIGEST_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    LEDGER_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    NORMALISER_VERSION_FIELD_NUMBER: _ClassVar[int]
    LABEL_BYTES_FIELD_NUMBER: _ClassVar[int]
    member_id: str
    list_type: str
    epoch: int
    size: int
    root: bytes
    snapshot_digest: bytes
    key_id: str
    expires_at: int
    ledger_height: int
    normaliser_version: str
    label_bytes: int
    def __init__(self, member_id: _Optional[str] = ..., list_type: _Optional[str] = ..., epoch: _Optional[int] = ..., size: _Optional[int] = ..., root: _Optional[bytes] = ..., snapshot_digest: _Optional[bytes] = ..., key_id: _Optional[str] = ..., expires_at: _Optional[int] = ..., ledger_height: _Optional[int] = ..., normaliser_version: _Optional[str] = ..., label_bytes: _Optional[int] = ...) -> None: ...

class StreamSnapshotRequest(_message.Message):
    __slots__ = ("list_type", "epoch")
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    epoch: int
    def __init__(self, list_type: _Optional[str] = ..., epoch: _Optional[int] = ...) -> None: ...

class StreamDeltaRequest(_message.Message):
    __slots__ = ("list_type", "from_epoch", "to_epoch")
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    FROM_EPOCH_FIELD_NUMBER: _ClassVar[int]
    TO_EPOCH_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    from_epoch: int
    to_epoch: int
    def __init__(self, list_type: _Optional[str] = ..., from_epoch: _Optional[int] = ..., to_epoch: _Optional[int] = ...) -> None: ...

class SnapshotChunk(_message.Message):
    __slots__ = ("epoch", "index", "data", "last", "from_epoch", "served_statement", "served_signature")
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    FROM_EPOCH_FIELD_NUMBER: _ClassVar[int]
    SERVED_STATEMENT_FIELD_NUMBER: _ClassVar[int]
    SERVED_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    epoch: int
    index: int
    data: bytes
    last: bool
    from_epoch: int
    served_statement: bytes
    served_signature: bytes
    def __init__(self, epoch: _Optional[int] = ..., index: _Optional[int] = ..., data: _Optional[bytes] = ..., last: bool = ..., from_epoch: _Optional[int] = ..., served_statement: _Optional[bytes] = ..., served_signature: _Optional[bytes] = ...) -> None: ...

class EvaluateRequest(_message.Message):
    __slots__ = ("list_type", "normaliser_version", "signed_request", "blinded", "key_id")
    LIST_TYPE_FIELD_NUMBER: _ClassVar[int]
    NORMALISER_VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    BLINDED_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    list_type: str
    normaliser_version: str
    signed_request: bytes
    blinded: bytes
    key_id: str
    def __init__(self, list_type: _Optional[str] = ..., normaliser_version: _Optional[str] = ..., signed_request: _Optional[bytes] = ..., blinded: _Optional[bytes] = ..., key_id: _Optional[str] = ...) -> None: ...

class EvaluateResponse(_message.Message):
    __slots__ = ("evaluated", "proof", "key_id", "signed_receipt", "epoch")
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    EPOCH_FIELD_NUMBER: _ClassVar[int]
    evaluated: bytes
    proof: bytes
    key_id: str
    signed_receipt: bytes
    epoch: int
    def __init__(self, evaluated: _Optional[bytes] = ..., proof: _Optional[bytes] = ..., key_id: _Optional[str] = ..., signed_receipt: _Optional[bytes] = ..., epoch: _Optional[int] = ...) -> None: ...

class FetchResponseRequest(_message.Message):
    __slots__ = ("receipt_id",)
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    receipt_id: str
    def __init__(self, receipt_id: _Optional[str] = ...) -> None: ...

class BucketQueryRequest(_message.Message):
    __slots__ = ("evaluate", "prefix_bits", "prefixes")
    EVALUATE_FIELD_NUMBER: _ClassVar[int]
    PREFIX_BITS_FIELD_NUMBER: _ClassVar[int]
    PREFIXES_FIELD_NUMBER: _ClassVar[int]
    evaluate: EvaluateRequest
    prefix_bits: int
    prefixes: bytes
    def __init__(self, evaluate: _Optional[_Union[EvaluateRequest, _Mapping]] = ..., prefix_bits: _Optional[int] = ..., prefixes: _Optional[bytes] = ...) -> None: ...

class Bucket(_message.Message):
    __slots__ = ("tags", "labels")
    TAGS_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    tags: bytes
    labels: bytes
    def __init__(self, tags: _Optional[bytes] = ..., labels: _Optional[bytes] = ...) -> None: ...

class BucketQueryResponse(_message.Message):
    __slots__ = ("evaluate", "buckets")
    EVALUATE_FIELD_NUMBER: _ClassVar[int]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    evaluate: EvaluateResponse
    buckets: _containers.RepeatedCompositeFieldContainer[Bucket]
    def __init__(self, evaluate: _Optional[_Union[EvaluateResponse, _Mapping]] = ..., buckets: _Optional[_Iterable[_Union[Bucket, _Mapping]]] = ...) -> None: ...
