"""Identifier normaliser v1: the shared cleaning standard every member applies (DESIGN §7).

Two members can only find each other's entries if they turn the same real-world
identifier into the same bytes, so this module is the contract between them. Its rules:

- Input is text. It is first *folded*: full-width ASCII forms (U+FF01..U+FF5E) become
  their ASCII counterparts, the ideographic space becomes a space, and every whitespace
  or zero-width character (spaces, tabs, NBSP, U+3000, ZWSP, BOM, ...) is removed. No
  identifier type has meaningful whitespace, so stray whitespace anywhere is noise.
- Only ASCII digits count as digits after folding (``[0-9]``, never ``\\d`` or
  ``str.isdigit``, which accept other scripts' digits).
- ``cn_id``: trailing ``x`` becomes ``X``; 18 characters = 17 digits and an ISO 7064
  MOD 11-2 check character (GB 11643-1999), with a real calendar birth date and a
  non-zero first digit; a legacy 15-digit number is upgraded by inserting ``19`` after
  the 6-digit area code and appending the computed check character.
- ``phone``: separators (space, ``-``, ``.``, ``(``, ``)``) are removed, a ``+86``,
  ``0086`` or bare ``86`` country prefix is dropped, and the rest must match
  ``^1[3-9][0-9]{9}$`` (a mainland mobile number).
- ``bank_card``: separators (space, ``-``) removed, then 12-19 digits passing Luhn.
- ``account``: ``BANKCODE|DIGITS``: the bank code is 3-12 upper-case letters or digits
  (a 3-digit bank code, a 12-digit CNAPS code or a BIC), the account number 6-34 digits
  once spaces and ``-`` are removed.
- ``device``: ``-`` and ``:`` separators removed, lower-cased, 8-128 hex digits.

Every function is pure and deterministic. Normalisation is idempotent: feeding an output
back in returns it unchanged (a property test holds us to it). A value that cannot be
normalised raises :class:`Rejected` with a stable reason code; the message never
contains the value, because rejections are logged and reported.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from operator import mul

import psi
from adapters._errors import Rejected

__all__ = [
    "ID_TYPES",
    "MAX_INPUT_CHARS",
    "NORMALISER_VERSION",
    "cn_id_check_char",
    "fold",
    "luhn_valid",
    "normalise",
]

# The version is psi's: the PRF input carries it, so the two can never disagree.
NORMALISER_VERSION = psi.NORMALISER_VERSION

# Longer input than this is not an identifier of any type; refusing it early bounds the
# work a hostile source row can cause.
MAX_INPUT_CHARS = 256

_FOLD: dict[int, int | None] = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
# Whitespace and invisible format characters that survive copy-paste from spreadsheets.
for _cp in (
    *range(0x09, 0x0E),
    0x20,
    0x85,
    0xA0,
    0x1680,
    *range(0x2000, 0x200C),  # en quad .. hair space, ZWSP
    0x200C,
    0x200D,
    0x2028,
    0x2029,
    0x202F,
    0x205F,
    0x2060,
    0x3000,
    0xFEFF,
):
    _FOLD[_cp] = None

_DIGITS = re.compile(r"[0-9]+", re.ASCII)
_PHONE = re.compile(r"1[3-9][0-9]{9}", re.ASCII)
_PHONE_SEPARATORS = str.maketrans("", "", "-.()")
_CARD_SEPARATORS = str.maketrans("", "", "-")
_BANK_CODE = re.compile(r"[0-9A-Z]{3,12}", re.ASCII)
_HEX = re.compile(r"[0-9a-f]+", re.ASCII)
_DEVICE_SEPARATORS = str.maketrans("", "", "-:")

# ISO 7064 MOD 11-2 as GB 11643-1999 states it: weight of position i (0-based, from the
# left over 17 digits) is 2^(17-i) mod 11; the check character is indexed by sum mod 11.
_CN_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_CN_CHECK = "10X98765432"


def fold(value: str) -> str:
    """Full-width forms to ASCII, whitespace and zero-width characters removed."""
    return value.translate(_FOLD)


def cn_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for 17 ASCII digits."""
    if len(first17) != 17:
        raise ValueError("cn_id_check_char needs 17 digits")
    return _CN_CHECK[sum(map(mul, map(int, first17), _CN_WEIGHTS)) % 11]


# Luhn doubles every second digit from the right and sums the digits of the product.
_LUHN_DOUBLE = {str(d): (2 * d) // 10 + (2 * d) % 10 for d in range(10)}


def luhn_valid(digits: str) -> bool:
    """ISO/IEC 7812-1 Luhn check over ASCII digits."""
    plain = sum(map(int, digits[-1::-2]))
    doubled = sum(map(_LUHN_DOUBLE.__getitem__, digits[-2::-2]))
    return (plain + doubled) % 10 == 0


def _valid_birth_date(yyyymmdd: str) -> bool:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    if not 1800 <= year <= 2099 or not 1 <= month <= 12 or day < 1:
        return False
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return day <= (29 if leap else 28)
    return day <= (30 if month in (4, 6, 9, 11) else 31)


def _cn_id(value: str) -> str:
    if len(value) == 15:
        if not _DIGITS.fullmatch(value):
            raise Rejected("cn_id_chars", "a 15-character cn_id must be all digits")
        body = value[:6] + "19" + value[6:]
        if value[0] == "0" or not _valid_birth_date(body[6:14]):
            raise Rejected("cn_id_birth_date", "legacy cn_id has no valid area or birth date")
        return body + cn_id_check_char(body)
    if len(value) != 18:
        raise Rejected("cn_id_length", f"cn_id must have 18 or 15 characters, not {len(value)}")
    body, check = value[:17], value[17].upper()
    if not _DIGITS.fullmatch(body) or not (check == "X" or "0" <= check <= "9"):
        raise Rejected("cn_id_chars", "cn_id must be 17 digits and a digit or X")
    if body[0] == "0" or not _valid_birth_date(body[6:14]):
        raise Rejected("cn_id_birth_date", "cn_id has no valid area or birth date")
    if cn_id_check_char(body) != check:
        raise Rejected("cn_id_check", "cn_id fails the ISO 7064 MOD 11-2 check")
    return body + check


def _phone(value: str) -> str:
    # Already normal (the common case): 11 ASCII digits starting 1[3-9].
    if (
        len(value) == 11
        and value[0] == "1"
        and value[1] in "3456789"
        and value.isascii()
        and value.isdigit()
    ):
        return value
    value = value.translate(_PHONE_SEPARATORS)
    if value.startswith("+86"):
        value = value[3:]
    elif value.startswith("0086"):
        value = value[4:]
    elif value.startswith("86") and len(value) == 13:
        value = value[2:]
    if not _PHONE.fullmatch(value):
        raise Rejected("phone_format", "phone is not a mainland mobile number (1[3-9] + 9 digits)")
    return value


def _bank_card(value: str) -> str:
    value = value.translate(_CARD_SEPARATORS)
    if not _DIGITS.fullmatch(value):
        raise Rejected("bank_card_chars", "bank_card must be digits")
    if not 12 <= len(value) <= 19:
        raise Rejected("bank_card_length", f"bank_card must have 12-19 digits, not {len(value)}")
    if not luhn_valid(value):
        raise Rejected("bank_card_luhn", "bank_card fails the Luhn check")
    return value


def _account(value: str) -> str:
    bank, sep, number = value.partition("|")
    if not sep or "|" in number:
        raise Rejected("account_format", "account must be BANKCODE|DIGITS")
    bank = bank.upper()
    if not _BANK_CODE.fullmatch(bank):
        raise Rejected("account_bank_code", "account bank code must be 3-12 letters or digits")
    number = number.translate(_CARD_SEPARATORS)
    if not _DIGITS.fullmatch(number) or not 6 <= len(number) <= 34:
        raise Rejected("account_digits", "account number must be 6-34 digits")
    return f"{bank}|{number}"


def _device(value: str) -> str:
    value = value.translate(_DEVICE_SEPARATORS).lower()
    if not _HEX.fullmatch(value):
        raise Rejected("device_chars", "device must be hex digits")
    if not 8 <= len(value) <= 128:
        raise Rejected("device_length", f"device must have 8-128 hex digits, not {len(value)}")
    return value


_RULES: dict[str, Callable[[str], str]] = {
    "account": _account,
    "bank_card": _bank_card,
    "cn_id": _cn_id,
    "device": _device,
    "phone": _phone,
}

ID_TYPES = frozenset(_RULES)


def normalise(id_type: str, value: object) -> str:
    """The v1 normal form of ``value`` as an ``id_type``; raises :class:`Rejected` if none."""
    rule = _RULES.get(id_type)
    if rule is None:
        raise Rejected("unknown_id_type", "not a known id type")
    if not isinstance(value, str):
        raise Rejected("wrong_type", f"{id_type} must be text, not {type(value).__name__}")
    if len(value) > MAX_INPUT_CHARS:
        raise Rejected("too_long", f"{id_type} input longer than {MAX_INPUT_CHARS} characters")
    # Most values arrive as plain ASCII letters and digits, which folding leaves as is.
    folded = value if value.isascii() and value.isalnum() else fold(value)
    if not folded:
        raise Rejected("missing_value", f"{id_type} is empty")
    return rule(folded)
