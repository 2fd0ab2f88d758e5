"""Check digits, checked against the published examples and an independent re-implementation."""

import pytest

from registry.codes import CodeError, check_digit, normalise, prefecture_number
from registry.tenants.reference import municipality_rows, prefecture_rows


def _reference_check_digit(five: str) -> int:
    # Written from the JIS X 0401 description, differently from the module under test.
    total = 0
    for position, digit in enumerate(reversed(five)):
        total += int(digit) * (position + 2)
    # "the ones digit of 11 minus the remainder"
    return int(str(11 - total % 11)[-1])


@pytest.mark.parametrize(("five", "six"), [("13101", "131016"), ("01213", "012131"), ("01205", "012050"),
                                           ("13000", "130001"), ("22138", "221384")])
def test_published_examples(five: str, six: str) -> None:
    assert five + check_digit(five) == six
    assert normalise(six) == six


def test_every_reference_code_passes_an_independent_check() -> None:
    codes = [p.code for p in prefecture_rows()] + [m.code for m in municipality_rows()]
    assert len(codes) == len(set(codes))
    for code in codes:
        assert int(code[5]) == _reference_check_digit(code[:5]), code


def test_reference_counts() -> None:
    munis = municipality_rows()
    assert len(prefecture_rows()) == 47
    assert sum(m.kind == "municipality" for m in munis) == 1741
    assert sum(m.kind == "municipality" and m.code.startswith("13") for m in munis) == 62
    hamamatsu = sorted(m.name for m in munis if m.parent_code == "221309")
    assert hamamatsu == ["浜松市 中央区", "浜松市 天竜区", "浜松市 浜名区"]


def test_wrong_check_digit_names_the_right_one() -> None:
    with pytest.raises(CodeError, match="131016"):
        normalise("131017")


def test_lost_leading_zero_is_restored() -> None:
    assert normalise("12131") == "012131"
    assert normalise(92011) == "092011"


@pytest.mark.parametrize("bad", ["abc", "1234567", "", "481003", "000000"])
def test_not_codes(bad: str) -> None:
    with pytest.raises(CodeError):
        normalise(bad)


def test_prefecture_number() -> None:
    assert prefecture_number("13") == "13"
    assert prefecture_number("1") == "01"
    assert prefecture_number("130001") == "13"
    with pytest.raises(CodeError):
        prefecture_number("131016")
