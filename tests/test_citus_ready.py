"""The migrated schema keeps to the Citus plan of registry/db/distribution.py (issue 17, item 3).

No Citus here (docs/scaling.md), so the rules the spike on Citus 13.2 hit are checked on the catalogue of
the single server instead, each shown to catch a table made for the purpose:
- every table is placed once, and every table the plan names exists;
- a distributed table has the distribution column with the one type colocation needs, in its primary key
  and every unique index, and each foreign key to another distributed table carries it on both sides;
- a reference table points at no distributed table, and neither points at a coordinator table;
- no trigger with a transition table on a distributed or reference table ("could not find named tuplestore").
"""

import subprocess
import sys

import asyncpg

from registry.db import distribution as plan

_TABLES = """
select case when n.nspname = 'public' then c.relname else n.nspname || '.' || c.relname end as name, c.oid
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind in ('r', 'p') and not c.relispartition
   and n.nspname in ('public', 'app', 'loader', 'procrastinate')
"""
_COLUMN_TYPE = """select format_type(a.atttypid, a.atttypmod), a.attnum from pg_attribute a
                   where a.attrelid = $1 and a.attname = $2 and not a.attisdropped"""
_UNIQUE = """select i.indexrelid::regclass::text as name, i.indkey::int2[] as cols from pg_index i
              where i.indrelid = $1 and i.indisunique"""
_FOREIGN = """select c.conname, c.conrelid, c.confrelid, c.conkey, c.confkey from pg_constraint c
               where c.contype = 'f' and (c.conrelid = any($1::oid[]) or c.confrelid = any($1::oid[]))"""
_TRANSITION = """select t.tgname from pg_trigger t
                  where t.tgrelid = $1 and (t.tgoldtable is not null or t.tgnewtable is not null)"""


async def _offences(conn: asyncpg.Connection) -> list[str]:
    tables = {r["name"]: r["oid"] for r in await conn.fetch(_TABLES)}
    names = {oid: name for name, oid in tables.items()}
    found = [f"{t}: not placed" for t in sorted(tables) if plan.placement(t) is None]
    placed = plan.DISTRIBUTED + plan.REFERENCE + plan.COORDINATOR + plan.NOT_OURS
    found += [f"{t}: placed twice" for t in sorted(set(placed)) if placed.count(t) > 1]
    found += [f"{t}: in the plan, not in the schema" for t in placed if t not in tables]
    column_at: dict[str, int] = {}
    for t in plan.DISTRIBUTED:
        if t not in tables:
            continue
        col = await conn.fetchrow(_COLUMN_TYPE, tables[t], plan.DISTRIBUTION_COLUMN)
        if col is None:
            found.append(f"{t}: no {plan.DISTRIBUTION_COLUMN}")
            continue
        column_at[t] = col["attnum"]
        if col[0] != plan.DISTRIBUTION_TYPE:
            found.append(f"{t}: {plan.DISTRIBUTION_COLUMN} is {col[0]}, not {plan.DISTRIBUTION_TYPE}")
        for index in await conn.fetch(_UNIQUE, tables[t]):
            if col["attnum"] not in index["cols"]:
                found.append(f"{t}: unique index {index['name']} without {plan.DISTRIBUTION_COLUMN}")
    for fk in await conn.fetch(_FOREIGN, list(tables.values())):
        child, parent = names.get(fk["conrelid"]), names.get(fk["confrelid"])
        kinds = (plan.placement(child or ""), plan.placement(parent or ""))
        where = f"{child}: foreign key {fk['conname']} to {parent}"
        if kinds == ("distributed", "distributed"):
            pairs = dict(zip(fk["conkey"], fk["confkey"], strict=True))
            if pairs.get(column_at.get(child or "")) != column_at.get(parent or ""):
                found.append(f"{where} without {plan.DISTRIBUTION_COLUMN} on both sides")
        elif kinds == ("reference", "distributed"):
            found.append(f"{where}: a reference table cannot point at a distributed one")
        elif kinds[0] in ("distributed", "reference") and kinds[1] == "coordinator":
            found.append(f"{where}: only coordinator tables may point at coordinator tables")
    for t in plan.DISTRIBUTED + plan.REFERENCE:
        if t in tables:
            found += [f"{t}: trigger {r['tgname']} has a transition table"
                      for r in await conn.fetch(_TRANSITION, tables[t])]
    return found


async def test_the_schema_keeps_to_the_plan(owner: asyncpg.Connection) -> None:
    tables = await owner.fetchval(f"select count(*) from ({_TABLES}) t")
    assert tables == len(plan.DISTRIBUTED + plan.REFERENCE + plan.COORDINATOR + plan.NOT_OURS)
    assert await _offences(owner) == []


async def test_the_check_catches_each_rule(owner: asyncpg.Connection, monkeypatch) -> None:
    # Each test has its own copy of the database (conftest), so the probes leave nothing behind.
    await owner.execute("""
      create table probe_unplaced (x int);
      create table probe_dist (municipality_code char(6) not null, id int, primary key (id));
      create table probe_child (municipality_code lgcode not null, id int, parent int references probe_dist (id));
      create table probe_ref (code text primary key, municipality_code lgcode, asset_id uuid,
                              foreign key (municipality_code, asset_id) references assets);
      create function app.probe_noop() returns trigger language plpgsql as $$ begin return null; end $$;
      create trigger probe_tt after insert on probe_ref referencing new table as n
        for each statement execute function app.probe_noop();
    """)
    monkeypatch.setattr(plan, "DISTRIBUTED", (*plan.DISTRIBUTED, "probe_dist", "probe_child"))
    monkeypatch.setattr(plan, "REFERENCE", (*plan.REFERENCE, "probe_ref", "probe_gone"))
    offences = set(await _offences(owner))
    assert {
        "probe_unplaced: not placed",
        "probe_gone: in the plan, not in the schema",
        "probe_dist: municipality_code is character(6), not lgcode",
        "probe_dist: unique index probe_dist_pkey without municipality_code",
        "probe_child: foreign key probe_child_parent_fkey to probe_dist without municipality_code on both sides",
        "probe_ref: foreign key probe_ref_municipality_code_asset_id_fkey to assets: "
        "a reference table cannot point at a distributed one",
        "probe_ref: trigger probe_tt has a transition table",
    } <= offences


def test_the_script_places_every_table_once() -> None:
    printed = subprocess.run([sys.executable, "-m", "registry.cli", "db", "citus"], capture_output=True,
                             text=True, check=True).stdout
    assert printed == plan.citus_script()
    script = printed.splitlines()
    assert len(script) == len(plan.DISTRIBUTED + plan.REFERENCE + plan.COORDINATOR)
    assert script[len(plan.REFERENCE)] == "select create_distributed_table('assets', 'municipality_code');"
