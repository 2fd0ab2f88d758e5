"""A file's municipality codes read as a clerk meant them: padded, with a check digit, a real municipality,
and the one the load is for. Pure: no database (the reference list comes in as a dict)."""

from __future__ import annotations

from registry.codes import CodeError, is_prefecture, is_valid, normalise, with_check_digit


def code_outcome(value: str, tenant: str | None, known: dict[str, str | None]) -> tuple[str | None, str | None,
                                                                                         str | None]:
    """(code, warning, rejection) for one distinct value of the municipality-code column."""
    if value == "":
        return (tenant, None, None) if tenant else (None, None, "no municipality code in this row")
    warning = None
    if len(value) == 5 and value.isdigit():
        # Five digits: a six-digit code that lost its leading zero, or a code without its check digit.
        padded, completed = value.zfill(6), with_check_digit(value)
        readings = [c for c in (padded, completed) if is_valid(c) and c in known]
        if len(readings) == 2:
            return None, None, (f"municipality code {value} is ambiguous ({padded} or {completed}); "
                                "write all six digits")
        if not readings:
            return None, None, f"municipality code {value} is neither {padded} nor {completed} in the reference list"
        code = readings[0]
        warning = (f"municipality code {value} lost its leading zero; read as {code}" if code == padded
                   else f"municipality code {value} has no check digit; read as {code}")
    else:
        try:
            code = normalise(value)
        except CodeError as exc:
            return None, None, f"municipality code: {exc}"
    if is_prefecture(code):
        return None, warning, f"{code} is a prefecture code; assets belong to a municipality"
    if code not in known:
        return None, warning, f"{code} is not a municipality in the reference list"
    parent = known[code]
    if tenant is not None and code != tenant:
        if parent == tenant:
            return tenant, f"ward {code} recorded under its city {tenant}", None
        return None, warning, f"the row belongs to municipality {code}; this load is for {tenant}"
    if parent:
        return None, warning, f"{code} is a ward; record its assets under the city {parent}"
    return code, warning, None
