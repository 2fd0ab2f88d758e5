"""Migrations, reference data and row security, against the real database."""

import asyncpg
import pytest

from registry.db.migrate import migrate
from registry.principal import Principal
from tests.conftest import as_principal

REFERENCE_TABLES = {"prefectures", "municipalities", "municipality_boundaries", "schema_migrations", "spatial_ref_sys"}


async def test_migrate_twice_is_a_no_op(owner: asyncpg.Connection) -> None:
    before = await owner.fetchval("select count(*) from schema_migrations")
    assert before >= 3
    assert await migrate(owner) == []
    assert await owner.fetchval("select count(*) from schema_migrations") == before


async def test_reference_counts_and_check_digits(owner: asyncpg.Connection) -> None:
    assert await owner.fetchval("select count(*) from prefectures") == 47
    assert await owner.fetchval("select count(*) from municipalities where kind = 'municipality'") == 1741
    assert await owner.fetchval(
        "select count(*) from municipalities where kind = 'municipality' and prefecture_code = '130001'") == 62
    codes = [r[0] for r in await owner.fetch("select code::text from prefectures union all "
                                             "select code::text from municipalities")]
    weights = (6, 5, 4, 3, 2)
    for code in codes:
        total = sum(int(d) * w for d, w in zip(code[:5], weights, strict=True))
        assert int(code[5]) == (11 - total % 11) % 10, code


async def test_sql_check_rejects_a_wrong_check_digit(owner: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError, match="lgcode_check_digit"):
        await owner.execute("insert into municipalities (code, prefecture_code, name, kana, kind) "
                            "values ('131017', '130001', 'x', 'x', 'municipality')")
    assert await owner.fetchval("select '131016'::lgcode") == "131016"


async def test_api_role_cannot_bypass_row_security(owner: asyncpg.Connection) -> None:
    row = await owner.fetchrow("select rolsuper, rolbypassrls from pg_roles where rolname = 'kyodo_api'")
    assert row["rolsuper"] is False and row["rolbypassrls"] is False
    owned = await owner.fetchval("select count(*) from pg_class c join pg_roles r on r.oid = c.relowner "
                                 "where r.rolname = 'kyodo_api'")
    assert owned == 0


async def test_every_tenant_table_has_row_security_forced(owner: asyncpg.Connection) -> None:
    rows = await owner.fetch(
        """select c.relname, c.relrowsecurity, c.relforcerowsecurity
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p')""")
    tenant_tables = [r for r in rows if r["relname"] not in REFERENCE_TABLES]
    assert len(tenant_tables) >= 3
    for r in tenant_tables:
        assert r["relrowsecurity"] and r["relforcerowsecurity"], r["relname"]


async def test_without_a_principal_the_api_role_reads_zero_rows(
        owner: asyncpg.Connection, api_conn: asyncpg.Connection, make_key) -> None:
    await make_key("municipality", "131016")
    await make_key("carrier", "docomo")
    await owner.execute("insert into municipality_settings (municipality_code) values ('131016')")
    tables = [r[0] for r in await owner.fetch(
        """select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = 'public' and c.relkind in ('r', 'p') and c.relforcerowsecurity""")]
    assert {"api_keys", "carriers", "municipality_settings"} <= set(tables)
    populated = 0
    for table in tables:
        populated += await owner.fetchval(f"select count(*) from {table}") > 0
        assert await as_principal(api_conn, None, f"select * from {table}") == [], table
    assert populated >= 3
    admin = Principal("t", "admin", "admin", None, "t")
    assert len(await as_principal(api_conn, admin, "select * from api_keys")) == 2


async def test_prefecture_principal_sees_only_its_municipalities_in_sql(
        owner: asyncpg.Connection, api_conn: asyncpg.Connection) -> None:
    await owner.execute("insert into municipality_settings (municipality_code) values ('131016'), ('271004')")
    tokyo = Principal("t", "prefecture", "130001", "130001", "t")
    rows = await as_principal(api_conn, tokyo, "select municipality_code::text from municipality_settings")
    assert [r[0] for r in rows] == ["131016"]
