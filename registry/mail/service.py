"""Contact rules between the routes and the SQL."""

from __future__ import annotations

from registry.i18n import tr
from registry.problems import invalid_field


def checked_email(email: str | None) -> None:
    if email is None:
        return
    local, at, domain = email.rpartition("@")
    if not (at and local and domain) or any(c.isspace() for c in domain):
        raise invalid_field("email", tr("{email} is not an e-mail address", email=f"{email!r}"))
