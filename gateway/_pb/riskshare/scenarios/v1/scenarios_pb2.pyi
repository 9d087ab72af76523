from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CosignRequest(_message.Message):
    __slots__ = ("kind", "object", "version", "payload", "min_height", "tx")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    MIN_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_FIELD_NUMBER: _ClassVar[int]
    kind: str
    object: str
    version: int
    payload: bytes
    min_height: int
    tx: bytes
    def __init__(self, kind: _Optional[str] = ..., object: _Optional[str] = ..., version: _Optional[int] = ..., payload: _Optional[bytes] = ..., min_height: _Optional[int] = ..., tx: _Optional[bytes] = ...) -> None: ...

class CosignResponse(_message.Message):
    __slots__ = ("signature",)
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    signature: bytes
    def __init__(self, signature: _Optional[bytes] = ...) -> None: ...

class FingerprintEvaluation(_message.Message):
    __slots__ = ("signed_request", "blinded")
    SIGNED_REQUEST_FIELD_NUMBER: _ClassVar[int]
    BLINDED_FIELD_NUMBER: _ClassVar[int]
    signed_request: bytes
    blinded: bytes
    def __init__(self, signed_request: _Optional[bytes] = ..., blinded: _Optional[bytes] = ...) -> None: ...

class FingerprintAnswer(_message.Message):
    __slots__ = ("evaluated", "proof", "signed_receipt")
    EVALUATED_FIELD_NUMBER: _ClassVar[int]
    PROOF_FIELD_NUMBER: _ClassVar[int]
    SIGNED_RECEIPT_FIELD_NUMBER: _ClassVar[int]
    evaluated: bytes
    proof: bytes
    signed_receipt: bytes
    def __init__(self, evaluated: _Optional[bytes] = ..., proof: _Optional[bytes] = ..., signed_receipt: _Optional[bytes] = ...) -> None: ...

class StepRequest(_message.Message):
    __slots__ = ("kind", "object", "payload", "cosigners", "version", "tx")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    COSIGNERS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TX_FIELD_NUMBER: _ClassVar[int]
    kind: str
    object: str
    payload: bytes
    cosigners: _containers.RepeatedScalarFieldContainer[str]
    version: int
    tx: bytes
    def __init__(self, kind: _Optional[str] = ..., object: _Optional[str] = ..., payload: _Optional[bytes] = ..., cosigners: _Optional[_Iterable[str]] = ..., version: _Optional[int] = ..., tx: _Optional[bytes] = ...) -> None: ...

class StepResponse(_message.Message):
    __slots__ = ("height", "tx_id", "object", "signers", "digest")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    SIGNERS_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    height: int
    tx_id: bytes
    object: bytes
    signers: _containers.RepeatedScalarFieldContainer[str]
    digest: bytes
    def __init__(self, height: _Optional[int] = ..., tx_id: _Optional[bytes] = ..., object: _Optional[bytes] = ..., signers: _Optional[_Iterable[str]] = ..., digest: _Optional[bytes] = ...) -> None: ...

class AuthorizeRequest(_message.Message):
    __slots__ = ("kind", "object", "ttl_seconds", "payload", "tx", "digest")
    KIND_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    TX_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    kind: str
    object: str
    ttl_seconds: int
    payload: bytes
    tx: bytes
    digest: bytes
    def __init__(self, kind: _Optional[str] = ..., object: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., payload: _Optional[bytes] = ..., tx: _Optional[bytes] = ..., digest: _Optional[bytes] = ...) -> None: ...

class AuthorizeResponse(_message.Message):
    __slots__ = ("expires_at_ms", "digest")
    EXPIRES_AT_MS_FIELD_NUMBER: _ClassVar[int]
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    expires_at_ms: int
    digest: bytes
    def __init__(self, expires_at_ms: _Optional[int] = ..., digest: _Optional[bytes] = ...) -> None: ...

class FingerprintRequest(_message.Message):
    __slots__ = ("family", "inputs")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    INPUTS_FIELD_NUMBER: _ClassVar[int]
    family: str
    inputs: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, family: _Optional[str] = ..., inputs: _Optional[_Iterable[bytes]] = ...) -> None: ...

class FingerprintResponse(_message.Message):
    __slots__ = ("fingerprints", "receipt_id", "height")
    FINGERPRINTS_FIELD_NUMBER: _ClassVar[int]
    RECEIPT_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    fingerprints: _containers.RepeatedScalarFieldContainer[bytes]
    receipt_id: str
    height: int
    def __init__(self, fingerprints: _Optional[_Iterable[bytes]] = ..., receipt_id: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...

class InitRegistryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InitRegistryResponse(_message.Message):
    __slots__ = ("public_key", "key_id")
    PUBLIC_KEY_FIELD_NUMBER: _ClassVar[int]
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    public_key: bytes
    key_id: bytes
    def __init__(self, public_key: _Optional[bytes] = ..., key_id: _Optional[bytes] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("contract", "from_height", "follow")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    contract: str
    from_height: int
    follow: bool
    def __init__(self, contract: _Optional[str] = ..., from_height: _Optional[int] = ..., follow: bool = ...) -> None: ...

class WatchedEvent(_message.Message):
    __slots__ = ("height", "type", "object", "version", "transition", "state", "members", "signers")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TRANSITION_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    SIGNERS_FIELD_NUMBER: _ClassVar[int]
    height: int
    type: str
    object: str
    version: int
    transition: str
    state: str
    members: _containers.RepeatedScalarFieldContainer[str]
    signers: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, height: _Optional[int] = ..., type: _Optional[str] = ..., object: _Optional[str] = ..., version: _Optional[int] = ..., transition: _Optional[str] = ..., state: _Optional[str] = ..., members: _Optional[_Iterable[str]] = ..., signers: _Optional[_Iterable[str]] = ...) -> None: ...

class ObserveRequest(_message.Message):
    __slots__ = ("contract", "series", "as_of", "value", "scale")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    contract: str
    series: str
    as_of: str
    value: int
    scale: int
    def __init__(self, contract: _Optional[str] = ..., series: _Optional[str] = ..., as_of: _Optional[str] = ..., value: _Optional[int] = ..., scale: _Optional[int] = ...) -> None: ...

class EndorseRequest(_message.Message):
    __slots__ = ("proposal", "min_height")
    PROPOSAL_FIELD_NUMBER: _ClassVar[int]
    MIN_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    proposal: bytes
    min_height: int
    def __init__(self, proposal: _Optional[bytes] = ..., min_height: _Optional[int] = ...) -> None: ...

class EndorseResponse(_message.Message):
    __slots__ = ("signature",)
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    signature: bytes
    def __init__(self, signature: _Optional[bytes] = ...) -> None: ...

class PrivateDelivery(_message.Message):
    __slots__ = ("record", "height")
    RECORD_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    record: bytes
    height: int
    def __init__(self, record: _Optional[bytes] = ..., height: _Optional[int] = ...) -> None: ...

class DeliverResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PrivateFetch(_message.Message):
    __slots__ = ("contract", "hid", "version")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    HID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    contract: str
    hid: bytes
    version: int
    def __init__(self, contract: _Optional[str] = ..., hid: _Optional[bytes] = ..., version: _Optional[int] = ...) -> None: ...

class PrivateStateRequest(_message.Message):
    __slots__ = ("contract", "object")
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    contract: str
    object: str
    def __init__(self, contract: _Optional[str] = ..., object: _Optional[str] = ...) -> None: ...

class PrivateStateResponse(_message.Message):
    __slots__ = ("object", "hid", "version", "ledger_version", "purged")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    HID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LEDGER_VERSION_FIELD_NUMBER: _ClassVar[int]
    PURGED_FIELD_NUMBER: _ClassVar[int]
    object: bytes
    hid: bytes
    version: int
    ledger_version: int
    purged: bool
    def __init__(self, object: _Optional[bytes] = ..., hid: _Optional[bytes] = ..., version: _Optional[int] = ..., ledger_version: _Optional[int] = ..., purged: bool = ...) -> None: ...

class PrivateSyncRequest(_message.Message):
    __slots__ = ("contract",)
    CONTRACT_FIELD_NUMBER: _ClassVar[int]
    contract: str
    def __init__(self, contract: _Optional[str] = ...) -> None: ...

class PrivateSyncResponse(_message.Message):
    __slots__ = ("fetched", "purged", "missing")
    FETCHED_FIELD_NUMBER: _ClassVar[int]
    PURGED_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    fetched: int
    purged: int
    missing: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, fetched: _Optional[int] = ..., purged: _Optional[int] = ..., missing: _Optional[_Iterable[str]] = ...) -> None: ...
