"""A strict little byte reader and writer for psi's own formats.

Every psi format starts with a domain-separation tag and a version byte, then fixed
fields; strings are two-byte length framed UTF-8, integers big-endian. The reader
raises ``ProtocolError`` for a wrong tag, a wrong version, a short read or trailing
bytes, so a decoder built on it lets no other exception out.
"""

from __future__ import annotations

from psi._errors import ProtocolError

__all__ = ["Reader", "frame", "u8", "u16", "u32", "u64"]


def u8(n: int) -> bytes:
    return n.to_bytes(1, "big")


def u16(n: int) -> bytes:
    return n.to_bytes(2, "big")


def u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def u64(n: int) -> bytes:
    return n.to_bytes(8, "big")


def frame(text: str) -> bytes:
    """A string as two-byte length and UTF-8 bytes."""
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ProtocolError("string too long to frame")
    return u16(len(data)) + data


class Reader:
    """Reads fields from ``data`` in order; every failure is a ``ProtocolError``."""

    __slots__ = ("_data", "_pos", "_what")

    def __init__(self, data: bytes, domain: bytes, version: int, what: str) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ProtocolError(f"{what}: expected bytes")
        self._data = memoryview(bytes(data))
        self._pos = 0
        self._what = what
        if self.take(len(domain)) != domain:
            raise ProtocolError(f"{what}: wrong domain tag")
        got = self.uint(1)
        if got != version:
            raise ProtocolError(f"{what}: unsupported version {got}")

    def take(self, n: int) -> bytes:
        if n < 0 or self._pos + n > len(self._data):
            raise ProtocolError(f"{self._what}: truncated")
        out = bytes(self._data[self._pos : self._pos + n])
        self._pos += n
        return out

    def view(self, n: int) -> memoryview:
        if n < 0 or self._pos + n > len(self._data):
            raise ProtocolError(f"{self._what}: truncated")
        out = self._data[self._pos : self._pos + n]
        self._pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def text(self) -> str:
        raw = self.take(self.uint(2))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError(f"{self._what}: string is not UTF-8") from None

    def remaining(self) -> int:
        return len(self._data) - self._pos

    def end(self) -> None:
        if self._pos != len(self._data):
            raise ProtocolError(f"{self._what}: trailing bytes")
