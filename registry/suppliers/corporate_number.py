"""法人番号 (corporate number, National Tax Agency): 13 digits, the first a check digit. Pure.

The NTA's rule (法人番号の指定等に関する省令 第2条): with P_n the n-th digit of the 12-digit base number
counted from its right end and Q_n = 1 for odd n, 2 for even n, the check digit is
9 - (Σ P_n·Q_n mod 9). The NTA's own number, 7000012050002: base 000012050002, weighted sum
2·1 + 5·1 + 2·1 + 1·2 = 11, 11 mod 9 = 2, 9 - 2 = 7.
"""

from __future__ import annotations

import re

from registry.i18n import tr

_DIGITS = re.compile(r"^[0-9]{13}$")


def check_digit(base: str) -> int:
    """The check digit of a 12-digit base number."""
    if not re.fullmatch(r"[0-9]{12}", base):
        raise ValueError("a corporate number's base is 12 digits")
    total = sum(int(d) * (1 if n % 2 else 2) for n, d in enumerate(reversed(base), start=1))
    return 9 - total % 9


def problem(number: str) -> str | None:
    """None for a valid 13-digit corporate number, otherwise what is wrong with it, in a sentence."""
    if not _DIGITS.match(number):
        return tr("a corporate number (法人番号) is 13 digits, e.g. 7000012050002")
    expected = check_digit(number[1:])
    if int(number[0]) != expected:
        return tr("{number} fails the check digit: its first digit should be {expected} for the 12 digits that "
                  "follow", number=number, expected=expected)
    return None


def is_valid(number: str) -> bool:
    return problem(number) is None
