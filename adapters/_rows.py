"""Raw source records to normalised rows or rejects (pure).

A raw record is the tuple of the mapping's columns (``SourceMapping.columns()`` order)
as the source gave them: text from files, typed values from databases, or ``None`` for a
blank row. Every record becomes exactly one :class:`SourceRow` or one :class:`Reject`;
nothing is dropped. A reject names the first failing field in the fixed order key,
delisted flag, list type, id type, value, reason code, listed_at, expires_at, evidence
reference, shows the value masked, and gives a stable reason code.

Type rules, because databases and JSON carry types that text files do not:

- identifier values must be text; integers are accepted only for ``phone`` and
  ``bank_card`` (numeric columns are common for those and neither can start with 0);
  floats, booleans and anything else are ``wrong_type``;
- timestamps may be ``datetime``, ``date``, integer Unix seconds, or text in ISO 8601,
  ``YYYY/MM/DD`` or ``YYYYMMDD`` form; naive values are in the mapping's time zone;
- flags may be booleans, 0/1, or text (true/false, t/f, yes/no, y/n, 1/0, empty).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from adapters._errors import MappingError, Rejected
from adapters._mapping import Field, SourceMapping
from adapters._mask import mask, scrub
from adapters._model import EntryKey, ListTypePolicy, Reject, SourceRow
from adapters._normalise import fold, normalise

__all__ = ["MAX_TIME", "RowConverter", "parse_time"]

_REASON = re.compile(r"[0-9]{1,5}", re.ASCII)
_MAX_REASON = 0xFFFF
_MAX_EVIDENCE = 256
_MAX_KEY = 256
_TRUE = frozenset({"1", "true", "t", "yes", "y"})
_FALSE = frozenset({"", "0", "false", "f", "no", "n"})
_INT_IDS = frozenset({"phone", "bank_card"})
_COMPACT_DATE = re.compile(r"[0-9]{8}", re.ASCII)
_EPOCH = datetime(1970, 1, 1)
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z
_SECOND = timedelta(seconds=1)


def _show(value: object) -> str:
    """A non-identifier cell as a report may show it: scrubbed and truncated."""
    text = scrub(str(value))
    return text if len(text) <= 40 else text[:37] + "..."


def parse_time(value: object, zone: tzinfo) -> int | None:
    """Unix seconds for a timestamp cell; ``None`` for an empty one; raises Rejected.

    Times before 1970 or after 9999 are refused: no listing is that old, and the index
    label cannot carry them.
    """
    try:
        seconds = _parse_time(value, zone)
    except (OverflowError, ValueError):
        raise Rejected("bad_time", "not a representable time") from None
    if seconds is not None and not 0 <= seconds <= MAX_TIME:
        raise Rejected("bad_time", "outside 1970-9999")
    return seconds


def _parse_time(value: object, zone: tzinfo) -> int | None:
    if value is None:
        return None
    kind = type(value)
    if kind is datetime:
        moment: datetime = value  # type: ignore[assignment]
        if moment.tzinfo is None and zone is UTC:
            return (moment - _EPOCH) // _SECOND
    elif kind is bool:
        raise Rejected("bad_time", "a boolean is not a time")
    elif isinstance(value, int):
        return value
    elif isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        text = fold(value)
        if not text:
            return None
        if _COMPACT_DATE.fullmatch(text):
            text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
        elif len(text) >= 10 and text[4] == "/" and text[7] == "/":
            text = text[:10].replace("/", "-") + text[10:]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise Rejected("bad_time", "not an ISO 8601 date or time") from None
    else:
        raise Rejected("bad_time", f"a {type(value).__name__} is not a time")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.astimezone(UTC).timestamp())


class RowConverter:
    """Turns raw records of one mapping into rows or rejects."""

    def __init__(self, mapping: SourceMapping, policies: Mapping[str, ListTypePolicy]) -> None:
        self._mapping = mapping
        self._policies = policies
        self._zone: tzinfo = UTC if mapping.timezone == "UTC" else ZoneInfo(mapping.timezone)
        index = {c: i for i, c in enumerate(mapping.columns())}
        self._key = None if mapping.key is None else index[mapping.key]
        self._wm = None if mapping.watermark is None else index[mapping.watermark]
        self._delisted = None if mapping.delisted is None else index[mapping.delisted]
        self._fields: dict[str, tuple[Field, int | None, str]] = {}
        for name, field in mapping.fields.items():
            at = None if field.column is None else index[field.column]
            self._fields[name] = (field, at, field.column or name)
        self._lt_at = self._fields["list_type"][1]
        self._lt_const = mapping.fields["list_type"].const
        self._it_at = self._fields["id_type"][1]
        self._it_const = mapping.fields["id_type"].const
        self._type_memo: dict[tuple[object, object], tuple[str, str, ListTypePolicy] | _Bad] = {}
        value_at = self._fields["value"][1]
        assert value_at is not None  # parse_mapping insists value is a column
        self._value_at = value_at
        self._value_col = mapping.fields["value"].column or "value"
        self._utc = self._zone is UTC
        self._rc_at = self._column_at("reason_code")
        self._la_at = self._column_at("listed_at")
        self._ea_at = self._column_at("expires_at")
        ev = self._fields.get("evidence_ref")
        if ev is not None and ev[1] is None:
            raise MappingError("columns.evidence_ref must name a column")
        self._ev_at = None if ev is None else ev[1]
        self._ev_col = "" if ev is None else ev[2]

    def _column_at(self, name: str) -> int | None:
        """Where a plain (not recoded) column field sits in a record, else None."""
        spec = self._fields.get(name)
        if spec is None or spec[1] is None or spec[0].recode is not None:
            return None
        return spec[1]

    def _get(self, name: str, values: Sequence[object]) -> tuple[object, str]:
        spec = self._fields.get(name)
        if spec is None:
            return None, name
        field, at, label = spec
        if at is None:
            return field.const, label
        raw = values[at]
        if field.recode is not None and raw is not None:
            code = fold(str(raw))
            if code not in field.recode:
                raise _Bad(label, raw, "unmapped_code", "value has no entry in the mapping's map")
            return field.recode[code], label
        return raw, label

    def _flag(self, raw: object) -> bool:
        if self._mapping.delisted_values is not None:
            return raw is not None and fold(str(raw)) in self._mapping.delisted_values
        if raw is None or isinstance(raw, bool):
            return bool(raw)
        if isinstance(raw, int) and raw in (0, 1):
            return raw == 1
        text = fold(str(raw)).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise Rejected("bad_flag", "delisted flag is not true/false")

    def convert(
        self, row: int, line: int | None, values: Sequence[object] | None
    ) -> SourceRow | Reject:
        """One record to a row or a reject; ``values`` ``None`` is a blank record."""
        if values is None or self._blank(values):
            return Reject(row, line, "-", "", "blank_row", "no values", counts=False)
        try:
            return self._convert(row, line, values)
        except _Bad as bad:
            return Reject(row, line, bad.column, bad.shown, bad.reason, bad.detail)

    def _blank(self, values: Sequence[object]) -> bool:
        # Fast path: a row with a non-blank value cell is not blank.
        cell = values[self._value_at]
        if isinstance(cell, str) and cell and not cell.isspace():
            return False
        return all(v is None or (isinstance(v, str) and not fold(v)) for v in values)

    def _types(self, values: Sequence[object]) -> tuple[str, str, ListTypePolicy]:
        """List type, id type and policy of a row, memoised on the raw cells.

        Type columns hold a handful of distinct codes, so each combination is resolved
        (recoded, folded, checked) once per sync rather than once per row.
        """
        lt_raw = self._lt_const if self._lt_at is None else values[self._lt_at]
        it_raw = self._it_const if self._it_at is None else values[self._it_at]
        memo_key = (lt_raw, it_raw)
        try:
            found = self._type_memo[memo_key]
        except (KeyError, TypeError):
            try:
                found = self._resolve_types(values)
            except _Bad as bad:
                found = bad
            try:
                if len(self._type_memo) < 10_000:
                    self._type_memo[memo_key] = found
            except TypeError:
                pass  # an unhashable cell (a JSON list, say) is not memoised
        if isinstance(found, _Bad):
            raise _Bad.copy(found)
        return found

    def _resolve_types(self, values: Sequence[object]) -> tuple[str, str, ListTypePolicy]:
        list_type, lt_col = self._get("list_type", values)
        lt = fold(list_type) if isinstance(list_type, str) else None
        policy = None if lt is None else self._policies.get(lt)
        if policy is None or lt is None:
            raise _Bad(lt_col, list_type, "unknown_list_type", "not a registered list type")
        id_type, it_col = self._get("id_type", values)
        it = fold(id_type) if isinstance(id_type, str) else None
        if it is None or it not in policy.id_types:
            known = it is not None and any(it in p.id_types for p in self._policies.values())
            reason = "id_type_not_allowed" if known else "unknown_id_type"
            raise _Bad(it_col, id_type, reason, f"not an id type of {lt}")
        return lt, it, policy

    def _convert(self, row: int, line: int | None, values: Sequence[object]) -> SourceRow:
        source_key = None
        if self._key is not None:
            raw = values[self._key]
            # Integer keys (the common primary key) need no folding.
            text = str(raw) if type(raw) is int else None if raw is None else fold(str(raw))
            if not text or len(text) > _MAX_KEY:
                raise _Bad(self._mapping.key or "", raw, "bad_key", "key is empty or too long")
            source_key = "k:" + text
        delisted = False
        if self._delisted is not None:
            raw = values[self._delisted]
            if raw == 0 and self._mapping.delisted_values is None:
                delisted = False
            else:
                try:
                    delisted = self._flag(raw)
                except Rejected as exc:
                    raise _Bad(self._mapping.delisted or "", raw, exc.reason, exc.detail) from None
        list_type, id_type, _ = self._types(values)
        raw_value = values[self._value_at]
        if type(raw_value) is int and id_type in _INT_IDS:
            raw_value = str(raw_value)
        try:
            value = normalise(id_type, raw_value)
        except Rejected as exc:
            raise _Bad(self._value_col, raw_value, exc.reason, exc.detail, secret=True) from None
        # Fast paths for what databases usually send: an integer code, naive UTC
        # timestamps, NULLs; everything else takes the general path.
        cell = None if self._rc_at is None else values[self._rc_at]
        if type(cell) is int and 0 <= cell <= _MAX_REASON:
            reason_code: int | None = cell
        else:
            reason_code = self._reason(values)
        at = self._la_at
        cell = None if at is None else values[at]
        if at is not None and cell is None:
            listed_at = None
        elif type(cell) is datetime and cell.tzinfo is None and self._utc:
            listed_at = (cell - _EPOCH) // _SECOND
        else:
            listed_at = self._time("listed_at", values)
        at = self._ea_at
        cell = None if at is None else values[at]
        if at is not None and cell is None:
            expires_at = None
        elif type(cell) is datetime and cell.tzinfo is None and self._utc:
            expires_at = (cell - _EPOCH) // _SECOND
        else:
            expires_at = self._time("expires_at", values)
        for label, seconds in (("listed_at", listed_at), ("expires_at", expires_at)):
            if seconds is not None and not 0 <= seconds <= MAX_TIME:
                raw, col = self._get(label, values)
                raise _Bad(col, raw, "bad_time", "outside 1970-9999")
        if listed_at is not None and expires_at is not None and expires_at <= listed_at:
            raw, col = self._get("expires_at", values)
            raise _Bad(col, raw, "expiry_before_listing", "expires_at is not after listed_at")
        evidence: str | None = None
        cell = None if self._ev_at is None else values[self._ev_at]
        if cell is not None:
            if type(cell) is str:
                evidence = cell.strip() or None
            elif isinstance(cell, int) and not isinstance(cell, bool):
                evidence = str(cell)
            else:
                raise _Bad(self._ev_col, cell, "wrong_type", "evidence reference must be text")
            if evidence is not None and len(evidence) > _MAX_EVIDENCE:
                raise _Bad(self._ev_col, evidence, "bad_evidence_ref", "over 256 characters")
        key = EntryKey(list_type, id_type, value)
        # Positional: this runs once per row and keyword parsing is measurable.
        return SourceRow(
            source_key or "e:" + "\x1f".join(key),
            row,
            key,
            reason_code,
            listed_at,
            expires_at,
            evidence,
            delisted,
            None if self._wm is None else values[self._wm],
            line,
        )

    def _reason(self, values: Sequence[object]) -> int | None:
        raw, col = self._get("reason_code", values)
        if raw is None or (isinstance(raw, int) and not isinstance(raw, bool)):
            code = raw
        else:
            text = fold(str(raw))
            if not text:
                return None
            code = int(text) if _REASON.fullmatch(text) else -1
        if code is not None and not 0 <= code <= _MAX_REASON:
            raise _Bad(col, raw, "bad_reason_code", "reason code must be an integer 0-65535")
        return code

    def _time(self, name: str, values: Sequence[object]) -> int | None:
        raw, col = self._get(name, values)
        try:
            return parse_time(raw, self._zone)
        except Rejected as exc:
            raise _Bad(col, raw, exc.reason, exc.detail) from None


class _Bad(Exception):
    """Internal: the first failing field of a row, already made safe to show."""

    def __init__(
        self, column: str, raw: object, reason: str, detail: str, *, secret: bool = False
    ) -> None:
        super().__init__(reason)
        self.column = column
        self.shown = mask(raw) if secret else ("" if raw is None else _show(raw))
        self.reason = reason
        self.detail = detail

    @staticmethod
    def copy(bad: _Bad) -> _Bad:
        fresh = _Bad.__new__(_Bad)
        Exception.__init__(fresh, bad.reason)
        fresh.column, fresh.shown = bad.column, bad.shown
        fresh.reason, fresh.detail = bad.reason, bad.detail
        return fresh
