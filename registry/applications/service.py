"""Usage-application rules between the routes and the SQL: one owner per application, who may move it,
and the tenancy slots a move takes or frees."""

from __future__ import annotations

import datetime as dt

import asyncpg

from registry.applications import deadlines, queries, states
from registry.applications.models import Application, ApplicationAction, ApplicationCreate, Locked
from registry.i18n import message_of, tr
from registry.pagination import not_a_cursor
from registry.params import parse_uuid
from registry.principal import Principal
from registry.problems import Conflict, Forbidden, NotFound, invalid_field


def list_after(cursor: list | None) -> tuple[dt.datetime, str] | None:
    """The (submitted_at, application id) a list cursor carries, or a 422 naming `after`."""
    if cursor is None:
        return None
    try:
        since = dt.datetime.fromisoformat(cursor[0])
    except ValueError:
        raise not_a_cursor() from None
    return since, parse_uuid(cursor[1], "after")


def list_key(application: Application) -> list[str]:
    """The sort key of a list's last row, as list_after reads it back."""
    return [application.submitted_at.isoformat(), application.application_id]


def checked_assets(data: ApplicationCreate) -> list[str]:
    """The application's asset ids, sorted and without repeats, once its fields are consistent."""
    if data.ends_on is not None and data.ends_on < data.starts_on:
        raise invalid_field("ends_on", tr("is before starts_on"))
    return sorted({parse_uuid(a, "asset_ids") for a in data.asset_ids})


async def file(db: asyncpg.Connection, carrier: str, data: ApplicationCreate, asset_ids: list[str]) -> Application:
    """Submit `data` for `carrier`: every asset visible and published, all of one municipality."""
    visible = await queries.asset_owners(db, asset_ids)
    missing = [a for a in asset_ids if a not in visible]
    if missing:
        raise invalid_field("asset_ids", tr("no published asset {missing} among those your key may see",
                                            missing=missing[0]))
    owners = sorted(set(visible.values()))
    if len(owners) > 1:
        raise invalid_field("asset_ids", tr("the assets belong to {owners}; each municipality decides on "
                                            "its own assets, so file one application per municipality",
                                            owners=', '.join(owners)))
    owner = owners[0]
    terms = await queries.deadline_terms(db, owner)
    due = deadlines.add_days(terms.today, terms.decision_days, terms.day_basis)
    application_id = await queries.insert(db, owner, carrier, data.purpose, data.starts_on, data.ends_on, asset_ids,
                                          due)
    await queries.add_event(db, owner, application_id, "submit", None, "submitted", None, None)
    return await _reload(db, application_id)


async def act(db: asyncpg.Connection, principal: Principal, application_id: str,
              data: ApplicationAction) -> Application:
    """Apply `data.action` if the caller's party may, taking or freeing tenancy slots as the move requires."""
    found = await queries.lock(db, application_id)
    if found is None:
        raise NotFound(tr("No application {application_id} among those your key may see.",
                          application_id=application_id))
    if principal.role == "carrier":
        party: states.Party = "carrier"
    elif principal.can_write_municipality(found.municipality_code):
        party = "owner"
    else:  # a prefecture reads its municipalities' applications but does not decide them
        raise Forbidden(tr("Only the owner municipality and the applying carrier act on an application."))
    try:
        target = states.next_status(found.status, data.action, party, data.reason)
    except states.TransitionError as exc:
        raise (Forbidden(message_of(exc)) if exc.forbidden else Conflict(message_of(exc))) from exc

    # The status moves first: the database counts an asset's current_tenants from the applications that
    # hold a slot (sql/056), so the count must already include (or exclude) this one when the slot moves.
    # A refused slot raises, and the request's transaction takes the status change back with it.
    clock = await _clock(db, found, data.action)
    await queries.move(db, application_id, target, data.reason, data.note, clock)
    asset_ids = await queries.asset_ids(db, application_id)
    change = states.slot_change(found.status, target)
    if change > 0:
        taken = await queries.take_slots(db, found.municipality_code, asset_ids)
        if len(taken) != len(asset_ids):
            full = [s for s in await queries.slot_states(db, found.municipality_code, asset_ids)
                    if s.asset_id not in taken]
            detail = ", ".join(f"{s.asset_id} ({s.current_tenants} of {s.max_tenants} slots taken, {s.status})"
                               for s in full)
            raise Conflict(tr("Cannot approve: no free tenancy slot on {detail}. Refuse with reason "
                              "no_space, or free a slot first.", detail=detail))
    elif change < 0:
        await queries.release_slots(db, found.municipality_code, asset_ids)

    await queries.add_event(db, found.municipality_code, application_id, data.action, found.status, target,
                            data.reason, data.note)
    return await _reload(db, application_id)


async def _clock(db: asyncpg.Connection, found: Locked, action: str) -> tuple[dt.date, dt.date | None, int | None]:
    """(decision due, information due, days left) after `action`: a request for information stops the decision
    clock, keeping the days left, and gives the carrier the municipality's information days; the answer starts
    the clock again from where it stopped."""
    if action not in ("request_information", "respond"):
        return found.decision_due, None, None
    terms = await queries.deadline_terms(db, found.municipality_code)
    if action == "request_information":
        left = deadlines.days_left(terms.today, found.decision_due, terms.day_basis)
        return found.decision_due, deadlines.add_days(terms.today, terms.information_days, terms.day_basis), left
    return deadlines.add_days(terms.today, found.clock_days_left or 0, terms.day_basis), None, None


async def visible(db: asyncpg.Connection, application_id: str) -> Application:
    found = await queries.load(db, application_id)
    if found is None:
        raise NotFound(tr("No application {application_id} among those your key may see.",
                          application_id=application_id))
    return found


async def _reload(db: asyncpg.Connection, application_id: str) -> Application:
    """The application as it now stands: it was written in this transaction, so it is there."""
    loaded = await queries.load(db, application_id)
    assert loaded is not None
    return loaded
