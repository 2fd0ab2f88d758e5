"""If-Match parsing (pure): a well-formed version no row can be at matches nothing, instead of reaching
PostgreSQL as an out-of-range integer (schemathesis sent W/"4827720291467709406430107022861686816": a 422)."""

import pytest

from registry.etags import MAX_VERSION, required_version
from registry.problems import PreconditionRequired, Problem


@pytest.mark.parametrize(("header", "version"), [('"3"', 3), ('W/"3"', 3), (f'"{MAX_VERSION}"', MAX_VERSION),
                                                 (f'"{MAX_VERSION + 1}"', 0), ('W/"4827720291467709406430107"', 0)])
def test_versions(header: str, version: int) -> None:
    assert required_version(header) == version


def test_missing_and_malformed() -> None:
    with pytest.raises(PreconditionRequired):
        required_version(None)
    with pytest.raises(Problem):
        required_version('"three"')
