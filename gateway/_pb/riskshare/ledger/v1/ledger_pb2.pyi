from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class SubmitRequest(_message.Message):
    __slots__ = ("transaction", "wait")
    TRANSACTION_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    transaction: bytes
    wait: bool
    def __init__(self, transaction: _Optional[bytes] = ..., wait: bool = ...) -> None: ...

class SubmitResponse(_message.Message):
    __slots__ = ("tx_id", "height", "committed", "reason")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    tx_id: bytes
    height: int
    committed: bool
    reason: str
    def __init__(self, tx_id: _Optional[bytes] = ..., height: _Optional[int] = ..., committed: bool = ..., reason: _Optional[str] = ...) -> None: ...

class GetHeadRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Head(_message.Message):
    __slots__ = ("height", "hash", "state_digest")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HASH_FIELD_NUMBER: _ClassVar[int]
    STATE_DIGEST_FIELD_NUMBER: _ClassVar[int]
    height: int
    hash: bytes
    state_digest: bytes
    def __init__(self, height: _Optional[int] = ..., hash: _Optional[bytes] = ..., state_digest: _Optional[bytes] = ...) -> None: ...

class StreamBlocksRequest(_message.Message):
    __slots__ = ("from_height", "follow")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    follow: bool
    def __init__(self, from_height: _Optional[int] = ..., follow: bool = ...) -> None: ...

class BlockMessage(_message.Message):
    __slots__ = ("height", "block")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    height: int
    block: bytes
    def __init__(self, height: _Optional[int] = ..., block: _Optional[bytes] = ...) -> None: ...

class Checkpoint(_message.Message):
    __slots__ = ("height", "header_hash", "member_id", "signature", "encoded")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    HEADER_HASH_FIELD_NUMBER: _ClassVar[int]
    MEMBER_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    ENCODED_FIELD_NUMBER: _ClassVar[int]
    height: int
    header_hash: bytes
    member_id: str
    signature: bytes
    encoded: bytes
    def __init__(self, height: _Optional[int] = ..., header_hash: _Optional[bytes] = ..., member_id: _Optional[str] = ..., signature: _Optional[bytes] = ..., encoded: _Optional[bytes] = ...) -> None: ...

class CheckpointAck(_message.Message):
    __slots__ = ("signatures", "final")
    SIGNATURES_FIELD_NUMBER: _ClassVar[int]
    FINAL_FIELD_NUMBER: _ClassVar[int]
    signatures: int
    final: bool
    def __init__(self, signatures: _Optional[int] = ..., final: bool = ...) -> None: ...

class StreamCheckpointsRequest(_message.Message):
    __slots__ = ("from_height", "follow")
    FROM_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FOLLOW_FIELD_NUMBER: _ClassVar[int]
    from_height: int
    follow: bool
    def __init__(self, from_height: _Optional[int] = ..., follow: bool = ...) -> None: ...
