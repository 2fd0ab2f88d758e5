"""Local government codes (全国地方公共団体コード, JIS X 0401/0402): pure functions.

Six digits: two for the prefecture, three for the municipality, one check digit.
Published CSVs often drop the leading zero, so codes are always handled as text.
"""

from __future__ import annotations

import re

from registry.i18n import tr

_WEIGHTS = (6, 5, 4, 3, 2)
_DIGITS = re.compile(r"^[0-9]+$")


class CodeError(ValueError):
    """A code that cannot be a local government code; the message says how to fix it."""


def check_digit(first_five: str) -> str:
    """The check digit for the first five digits: weights 6..2, (11 - sum % 11) % 10."""
    total = sum(int(d) * w for d, w in zip(first_five, _WEIGHTS, strict=True))
    return str((11 - total % 11) % 10)


def with_check_digit(first_five: str) -> str:
    return first_five + check_digit(first_five)


def normalise(raw: str | int, *, allow_five: bool = False) -> str:
    """Return the canonical six-digit code, or raise CodeError saying what is wrong.

    A five-digit value is either a code that lost its leading zero (``92011`` for ``092011``)
    or, when ``allow_five`` is set, a code without its check digit; six digits after padding
    are validated by the check digit.
    """
    text = str(raw).strip()
    if not _DIGITS.match(text):
        raise CodeError(tr("'{raw}' is not a local government code: use six digits, e.g. 131016 for "
                           "Chiyoda", raw=raw))
    if len(text) == 5 and allow_five:
        padded = text.zfill(6)
        if _valid(padded):
            return padded
        return with_check_digit(text)
    if len(text) < 6:
        text = text.zfill(6)
    if len(text) != 6:
        raise CodeError(tr("'{raw}' has {text_count} digits; a local government code has six, e.g. 131016",
                           raw=raw, text_count=len(text)))
    if not _valid(text):
        expected = check_digit(text[:5])
        raise CodeError(
            tr("'{text}' fails the check digit: the last digit for {first_five} is {expected}, so the code is "
               "{first_five}{expected}", text=text, first_five=text[:5], expected=expected)
        )
    if text[:2] == "00" or int(text[:2]) > 47:
        raise CodeError(tr("'{text}' starts with {first_two}, which is not a prefecture number (01 to 47)",
                           text=text, first_two=text[:2]))
    return text


def _valid(code: str) -> bool:
    return len(code) == 6 and code.isdigit() and check_digit(code[:5]) == code[5]


def is_valid(code: str) -> bool:
    return _valid(code) and 1 <= int(code[:2]) <= 47


def prefecture_of(code: str) -> str:
    """The prefecture's own code (PP000c) for any municipality or prefecture code."""
    return with_check_digit(code[:2] + "000")


def is_prefecture(code: str) -> bool:
    return code[2:5] == "000"


def prefecture_number(value: str) -> str:
    """Accept a prefecture as its number (13, '01') or its code (130001); return the two-digit number."""
    text = str(value).strip()
    if text.isdigit() and len(text) <= 2 and 1 <= int(text) <= 47:
        return text.zfill(2)
    code = normalise(text)
    if not is_prefecture(code):
        raise CodeError(tr("'{value}' is a municipality code; a prefecture is 1-47 or its code, e.g. 13 "
                           "or 130001", value=value))
    return code[:2]
