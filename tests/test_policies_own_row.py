"""Every row-security policy reads only columns of its own row and the principal (issue 17, sql/170).

Citus cannot create a policy with a subquery on a distributed or reference table, and a policy that calls a
function reading other tables fails on the workers, which hold only their own shards. The check reads the
policies as PostgreSQL deparses them (pg_policies) and the source of every function they call, following
calls inside the `app` schema; it is shown to catch a subquery by a policy made for the purpose.
"""

import re

import asyncpg

_SUBQUERY = re.compile(r"\b(select|exists)\b", re.IGNORECASE)
_TABLE_READ = re.compile(r"\b(from|join)\b", re.IGNORECASE)
_CALL = re.compile(r"\b(?:app\.)?([a-z_][a-z0-9_]*)\s*\(", re.IGNORECASE)


async def _policies(conn: asyncpg.Connection) -> list[asyncpg.Record]:
    return await conn.fetch("""select tablename, policyname,
                                      coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr
                                 from pg_policies where schemaname = 'public' order by tablename, policyname""")


async def _app_functions(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch("""select p.proname, string_agg(p.prosrc, ' ') as src
                                 from pg_proc p join pg_namespace n on n.oid = p.pronamespace
                                where n.nspname = 'app' group by p.proname""")
    return {r["proname"]: r["src"] for r in rows}


def _offences(policies: list[asyncpg.Record], functions: dict[str, str]) -> list[str]:
    found = []
    for p in policies:
        name = f"{p['tablename']}.{p['policyname']}"
        if _SUBQUERY.search(p["expr"]):
            found.append(f"{name}: subquery in the policy")
        seen: set[str] = set()
        todo = [m for m in _CALL.findall(p["expr"]) if m in functions]
        while todo:
            fn = todo.pop()
            if fn in seen:
                continue
            seen.add(fn)
            if _TABLE_READ.search(functions[fn]):
                found.append(f"{name}: calls app.{fn}, which reads a table")
            todo += [m for m in _CALL.findall(functions[fn]) if m in functions]
    return found


async def test_no_policy_reads_another_row(owner: asyncpg.Connection) -> None:
    policies = await _policies(owner)
    assert len(policies) > 60  # every table's policies, not an empty catalogue
    assert _offences(policies, await _app_functions(owner)) == []


async def test_the_check_catches_a_subquery_and_a_table_reading_function(owner: asyncpg.Connection) -> None:
    # Each test has its own copy of the database (conftest), so the probe leaves nothing behind.
    await owner.execute("create table policy_probe (code text)")
    await owner.execute("create function app.probe_reads() returns boolean language sql stable as "
                        "$$ select exists (select 1 from prefectures) $$")
    await owner.execute("create policy probe_sub on policy_probe for select "
                        "using (exists (select 1 from prefectures p where p.code = policy_probe.code))")
    await owner.execute("create policy probe_fn on policy_probe for select using (app.probe_reads())")
    offences = _offences(await _policies(owner), await _app_functions(owner))
    assert offences == ["policy_probe.probe_fn: calls app.probe_reads, which reads a table",
                        "policy_probe.probe_sub: subquery in the policy"]
