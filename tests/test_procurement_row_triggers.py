"""No transition tables on the procurement, priority-area and municipality tables (issue 17 item 3, sql/171).

Citus refuses statement-level triggers with transition tables on distributed and reference tables, so their
work is done by row triggers. The pool version (what the savings caches are keyed by) must still change once
per committed transaction that touches a round's pool, and only then: the checks read the version straight
from procurement_pool_versions as the superuser, before and after, and count the trigger function's calls in
the writing transaction (pg_stat_get_xact_function_calls), so a 62-row statement is seen to call it once.
The other behaviours are checked by their own tests (savings across changes: test_procurement_summary.py;
coverage against a count from scratch: test_summaries.py; the municipality refusal: test_load_integrity.py);
contract events, which no other test reads, are compared here with the contract rows.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from registry.db.admin import enter_as_admin
from registry.settings import Settings
from tests.test_procurement_api import (
    World,
    iso,
    world,  # noqa: F401  (the fixture)
)

# The tables sql/171 converted, which docs/scaling.md's plan distributes or makes reference tables; every
# procurement_ table is checked too. The event outbox stays on the coordinator and keeps its transition table.
CONVERTED = ("procurement_needs", "procurement_tenders", "procurement_tender_needs", "procurement_lot_awards",
             "procurement_contracts", "priority_areas", "municipalities")

_TRIGGERS = r"""
select c.relname::text as tbl, t.tgname::text as name, (t.tgoldtable is not null or t.tgnewtable is not null) as tt
  from pg_trigger t join pg_class c on c.oid = t.tgrelid
 where not t.tgisinternal and (c.relname = any($1::text[]) or c.relname like 'procurement\_%')
 order by 1, 2"""


async def test_no_trigger_on_those_tables_has_a_transition_table(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch(_TRIGGERS, list(CONVERTED))
    assert {r["tbl"] for r in rows} >= set(CONVERTED)  # each has triggers: the check is not vacuous
    assert [f"{r['tbl']}.{r['name']}" for r in rows if r["tt"]] == []


async def test_the_check_catches_a_transition_table(owner: asyncpg.Connection) -> None:
    # Each test has its own copy of the database (conftest), so the probe leaves nothing behind.
    await owner.execute("create table procurement_probe (x int)")
    await owner.execute("create function probe_noop() returns trigger language plpgsql as $$ begin return null; end $$")
    await owner.execute("create trigger probe_tt after insert on procurement_probe referencing new table as n "
                        "for each statement execute function probe_noop()")
    rows = await owner.fetch(_TRIGGERS, list(CONVERTED))
    assert [f"{r['tbl']}.{r['name']}" for r in rows if r["tt"]] == ["procurement_probe.probe_tt"]


@pytest.fixture
async def writer(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A superuser connection (track_functions is superuser-only) that, after `_enter` in a transaction, writes
    as the API role with the admin principal."""
    conn = await asyncpg.connect(settings.database_url)
    yield conn
    await conn.close()


async def _enter(conn: asyncpg.Connection) -> None:
    await conn.execute("set local track_functions = 'pl'")
    await conn.execute("set local role kyodo_api")
    await enter_as_admin(conn)


async def _version(owner: asyncpg.Connection, round_id: str) -> int:
    """The committed version of the round's pool, read from the table itself (0 before any row)."""
    return await owner.fetchval(
        """select coalesce((select v.version from procurement_pool_versions v join procurement_rounds r
                              using (organiser_code, round_id) where r.round_id = $1::uuid), 0)""", round_id)


async def _seen(conn: asyncpg.Connection, round_id: str) -> int:
    """The version the writing transaction sees, through the reader the caches use ("round.catalogue")."""
    text = await conn.fetchval("select app.procurement_pool_version(organiser_code, round_id) "
                               "from procurement_rounds where round_id = $1::uuid", round_id)
    return int(text.split(".")[0])


async def _calls(conn: asyncpg.Connection, function: str) -> int:
    return await conn.fetchval("select coalesce(pg_stat_get_xact_function_calls($1::regproc), 0)", function)


_NEEDS = """
insert into procurement_needs (organiser_code, round_id, municipality_code, category_code, quantity,
                               baseline_unit_price_yen, baseline_source, budget_status)
select r.organiser_code, r.round_id, m.code, 'tablet', 5, 1000, 'list_price', 'approved'
  from procurement_rounds r, municipalities m
 where r.round_id = $1::uuid and m.kind = 'municipality' and m.prefecture_code = $2
"""


async def _change(conn: asyncpg.Connection, round_id: str, quantity: int | None = None, only: str | None = None) -> str:
    """Every need of the round (or of one municipality) changes quantity; its version moves as a route moves it
    (procurement_need_versions keeps one row per version)."""
    return await conn.execute(
        """update procurement_needs set quantity = coalesce($2, quantity + 1), version = version + 1
            where round_id = $1::uuid and ($3::text is null or municipality_code = $3)""", round_id, quantity, only)


async def _second_round(w: World) -> str:
    r = await w.post("saitama", "/v1/procurement/rounds", {
        "title": "FY2026 Saitama", "category_codes": ["tablet"], "closes_at": iso(timedelta(days=7)),
        "withdrawal_deadline": iso(timedelta(days=14))})
    assert r.status_code == 201, r.text
    return r.json()["round_id"]


async def test_a_pool_version_changes_once_per_transaction_that_touches_it(
        world: World, owner: asyncpg.Connection, writer: asyncpg.Connection) -> None:  # noqa: F811
    w = world
    tokyo, saitama = w.round_id, await _second_round(w)
    v0, s0 = await _version(owner, tokyo), await _version(owner, saitama)

    # One transaction, three statements over two rounds: 62 Tokyo needs in one statement, 63 Saitama needs,
    # then every Tokyo need updated. Each round's version moves by one, and the trigger function runs once
    # per round, not once per row or per statement.
    async with writer.transaction():
        await _enter(writer)
        inserted = await writer.execute(_NEEDS, tokyo, "130001")
        assert int(inserted.split()[-1]) > 50
        assert await _seen(writer, tokyo) == v0 + 1
        await writer.execute(_NEEDS, saitama, "110001")
        updated = await _change(writer, tokyo)
        assert updated == inserted.replace("INSERT 0", "UPDATE")
        assert (await _seen(writer, tokyo), await _seen(writer, saitama)) == (v0 + 1, s0 + 1)
        assert await _calls(writer, "app.bump_pool_versions") == 2
    assert (await _version(owner, tokyo), await _version(owner, saitama)) == (v0 + 1, s0 + 1)

    # The next transaction bumps again (the note of what was bumped ends with the transaction); Saitama's
    # round, untouched, keeps its version.
    async with writer.transaction():
        await _enter(writer)
        await _change(writer, tokyo, 9, only="131016")
    assert (await _version(owner, tokyo), await _version(owner, saitama)) == (v0 + 2, s0 + 1)

    # A savepoint rolled back undoes its bump and the note together: the write after it bumps again, and the
    # transaction still commits one bump.
    async with writer.transaction():
        await _enter(writer)
        try:
            async with writer.transaction():
                await _change(writer, tokyo, 10)
                assert await _seen(writer, tokyo) == v0 + 3
                raise RuntimeError("roll the savepoint back")
        except RuntimeError:
            pass
        assert await _seen(writer, tokyo) == v0 + 2
        await _change(writer, tokyo, 11)
        assert await _seen(writer, tokyo) == v0 + 3
    assert await _version(owner, tokyo) == v0 + 3
    # A transaction that touches no need of the round leaves it alone.
    async with writer.transaction():
        await _enter(writer)
        await _change(writer, saitama, 12)
    assert (await _version(owner, tokyo), await _version(owner, saitama)) == (v0 + 3, s0 + 2)


async def _tender(owner: asyncpg.Connection, round_id: str) -> tuple[str, str]:
    """A tender with one lot in the round, written by the superuser (row security does not apply to it;
    the triggers do)."""
    organiser, tender_id = await owner.fetchrow(
        """insert into procurement_tenders (organiser_code, round_id, category_code, title, min_participants,
                                            min_quantity, process_cost_yen, lot_scheme)
           select organiser_code, round_id, 'tablet', 'probe', 2, 1, 100000, 'single' from procurement_rounds
            where round_id = $1::uuid
           returning organiser_code, tender_id::text""", round_id)
    await owner.execute("insert into procurement_lots (organiser_code, tender_id, lot_id, title) "
                        "values ($1, $2::uuid, 'all', 'all')", organiser, tender_id)
    return organiser, tender_id


async def test_tender_membership_bumps_the_round_once_per_transaction(
        world: World, owner: asyncpg.Connection, writer: asyncpg.Connection) -> None:  # noqa: F811
    w = world
    await owner.execute(_NEEDS, w.round_id, "130001")
    organiser, tender_id = await _tender(owner, w.round_id)
    v0 = await _version(owner, w.round_id)
    # Every Tokyo need joins the tender, one statement per need as queries.insert_tender_needs writes them.
    needs = await owner.fetch("select municipality_code::text, need_id::text from procurement_needs "
                              "where round_id = $1::uuid", w.round_id)
    async with writer.transaction():
        await _enter(writer)
        await writer.executemany(
            "insert into procurement_tender_needs (organiser_code, tender_id, municipality_code, need_id, lot_id) "
            "values ($1, $2::uuid, $3, $4::uuid, 'all')", [(organiser, tender_id, m, n) for m, n in needs])
        assert await _calls(writer, "app.bump_pool_versions_by_tender") == 1
    assert await _version(owner, w.round_id) == v0 + 1
    assert await owner.fetchval("select count(*) from procurement_tender_needs where tender_id = $1::uuid",
                                tender_id) == len(needs) > 50
    # Leaving the tender (deleted by the superuser: no route deletes membership) counts as a change too.
    await owner.execute("delete from procurement_tender_needs where tender_id = $1::uuid", tender_id)
    assert await _version(owner, w.round_id) == v0 + 2


async def test_one_contract_issued_event_per_contract_equal_to_its_row(
        world: World, owner: asyncpg.Connection) -> None:  # noqa: F811
    w = world
    organiser, tender_id = await _tender(owner, w.round_id)
    lines = [("131016", 8, 800), ("131024", 7, 800), ("131032", 6, 800)]
    before = await owner.fetchval("select coalesce(max(event_id), 0) from event_outbox")
    await owner.execute(
        """insert into procurement_contracts (organiser_code, tender_id, municipality_code, lot_id, quantity,
                                              unit_price_yen, amount_yen)
           select $1, $2::uuid, m, 'all', q, p, q::bigint * p
             from unnest($3::text[], $4::int[], $5::bigint[]) as t(m, q, p)""",
        organiser, tender_id, [m for m, _, _ in lines], [q for _, q, _ in lines], [p for _, _, p in lines])
    events = await owner.fetch("""select type, subject, audience, prefecture::text, data from event_outbox
                                   where event_id > $1 order by event_id""", before)
    contracts = await owner.fetch("""select tender_id::text, organiser_code, municipality_code::text, lot_id,
                                            quantity, unit_price_yen, amount_yen
                                       from procurement_contracts where tender_id = $1::uuid
                                      order by municipality_code""", tender_id)
    assert len(contracts) == 3
    got = sorted(((e["type"], e["subject"], list(e["audience"]), e["prefecture"], json.loads(e["data"]))
                  for e in events if e["type"] == "contract.issued"), key=lambda e: e[4]["municipality_code"])
    assert got == [("contract.issued", f"tender/{tender_id}",
                    [c["municipality_code"], "pref:" + c["municipality_code"][:2], organiser],
                    c["municipality_code"][:2], dict(c)) for c in contracts]
