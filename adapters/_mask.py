"""Masking for reports and logs: no identifier appears in clear or as a plain hash.

A plain hash of a phone number or an ID number is no protection (the spaces are small
enough to enumerate), so masked output keeps only a few edge characters, enough for an
operator who already holds the source row to recognise it:

- :func:`mask` hides the middle of one value: at most the first two and last two
  characters survive (one and one for short values, none below six characters), and
  the length is kept so column alignment in a report still makes sense. An 11-digit
  phone keeps 4 of 11 digits, leaving 10^7 candidates; an 18-character ID keeps 4.
- :func:`scrub` masks every run of seven or more digits (ASCII or full-width; nine when
  the run has the separators people type inside numbers) in free text, as a last line of defence for
  log messages; :class:`RedactingFilter` applies it to every log record.
"""

from __future__ import annotations

import logging
import re

from adapters._normalise import fold

__all__ = ["RedactingFilter", "mask", "scrub"]

_MASK = "*"


def mask(value: object) -> str:
    """``value`` with its middle hidden; safe to print, log and write to a report."""
    if value is None:
        return ""
    text = fold(str(value))
    n = len(text)
    if n < 6:
        return _MASK * n
    keep = 2 if n >= 10 else 1
    return text[:keep] + _MASK * (n - 2 * keep) + text[-keep:]


# Seven digits is below every identifier type's minimum length but above what counts and
# durations in log lines need, so it catches identifiers without eating ordinary
# numbers. Separators inside a number must not split it into short runs; a separated
# run needs nine digits, so dates (2024-01-02) and times survive.
_DIGIT_RUN = re.compile(r"[0-9\uff10-\uff19](?:[\s\-.\u3000]?[0-9\uff10-\uff19xX\uff38\uff58])+")
_SEPARATORS = re.compile(r"[\s\-.\u3000]")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = len(_SEPARATORS.sub("", run))
    if digits >= 9 or (digits >= 7 and not _SEPARATORS.search(run)):
        return mask(run)
    return run


def scrub(text: str) -> str:
    """``text`` with every long digit run masked by :func:`mask`."""
    return _DIGIT_RUN.sub(_mask_run, text)


class RedactingFilter(logging.Filter):
    """A logging filter that scrubs the rendered message of every record it passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = scrub(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True
