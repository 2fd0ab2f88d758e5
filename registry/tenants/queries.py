"""SQL for reference data and tenant settings: fixed text, $n parameters only."""

from __future__ import annotations

import asyncpg
import msgspec

from registry.tenants.models import (
    Carrier,
    Municipality,
    MunicipalitySettings,
    MunicipalitySettingsUpdate,
    Prefecture,
)

_MUNICIPALITY_COLUMNS = """code::text, prefecture_code::text, name, kana, kind, parent_code::text,
       ST_AsGeoJSON(town_hall, 7) as town_hall"""


def _municipality(row: asyncpg.Record) -> Municipality:
    geo = row["town_hall"]
    return Municipality(row["code"], row["prefecture_code"], row["name"], row["kana"], row["kind"],
                        row["parent_code"], msgspec.Raw(geo.encode()) if geo else None)


async def list_prefectures(db: asyncpg.Connection) -> list[Prefecture]:
    rows = await db.fetch(
        "select code::text, number::text, name, kana, name_en, iso_code from prefectures order by code")
    return [Prefecture(*r) for r in rows]


async def list_municipalities(db: asyncpg.Connection, prefecture: str | None, include_wards: bool,
                              after: str | None, limit: int) -> list[Municipality]:
    rows = await db.fetch(
        f"""select {_MUNICIPALITY_COLUMNS}
              from municipalities
             where ($1::text is null or prefecture_code = $1)
               and ($2 or kind = 'municipality')
               and ($3::text is null or code > $3)
             order by code
             limit $4""",
        prefecture, include_wards, after, limit)
    return [_municipality(r) for r in rows]


async def count_municipalities(db: asyncpg.Connection, prefecture: str | None, include_wards: bool) -> int:
    return await db.fetchval(
        "select count(*) from municipalities where ($1::text is null or prefecture_code = $1) "
        "and ($2 or kind = 'municipality')", prefecture, include_wards)


async def get_municipality(db: asyncpg.Connection, code: str) -> Municipality | None:
    row = await db.fetchrow(f"select {_MUNICIPALITY_COLUMNS} from municipalities where code = $1", code)
    return _municipality(row) if row else None


async def municipality_kind(db: asyncpg.Connection, code: str) -> str | None:
    return await db.fetchval("select kind from municipalities where code = $1", code)


_SETTINGS_COLUMNS = """municipality_code::text, decision_days, information_days, contact_name, contact_email,
       version, updated_at"""


async def get_settings(db: asyncpg.Connection, code: str) -> MunicipalitySettings:
    """The stored settings, or the defaults at version 0 while the municipality has changed none."""
    row = await db.fetchrow(f"select {_SETTINGS_COLUMNS} from municipality_settings where municipality_code = $1",
                            code)
    if row is None:
        defaults = MunicipalitySettingsUpdate()
        return MunicipalitySettings(code, defaults.decision_days, defaults.information_days, None, None, 0, None)
    return MunicipalitySettings(*row)


async def upsert_settings(db: asyncpg.Connection, code: str, expected_version: int, decision_days: int,
                          information_days: int, contact_name: str | None,
                          contact_email: str | None) -> MunicipalitySettings | None:
    """Write when the stored version is the expected one (0: no row yet); None when it is not."""
    row = await db.fetchrow(
        f"""insert into municipality_settings as s
                   (municipality_code, decision_days, information_days, contact_name, contact_email)
            select $1, $3, $4, $5, $6 where $2 = 0
            on conflict (municipality_code) do nothing
            returning {_SETTINGS_COLUMNS}""",
        code, expected_version, decision_days, information_days, contact_name, contact_email)
    if row is None and expected_version > 0:
        row = await db.fetchrow(
            f"""update municipality_settings
                   set decision_days = $3, information_days = $4, contact_name = $5, contact_email = $6,
                       version = version + 1, updated_at = now()
                 where municipality_code = $1 and version = $2
             returning {_SETTINGS_COLUMNS}""",
            code, expected_version, decision_days, information_days, contact_name, contact_email)
    return MunicipalitySettings(*row) if row else None


async def list_carriers(db: asyncpg.Connection) -> list[Carrier]:
    rows = await db.fetch("select carrier_code, name, name_en, contact_email from carriers order by carrier_code")
    return [Carrier(*r) for r in rows]


async def get_carrier(db: asyncpg.Connection, code: str) -> Carrier | None:
    row = await db.fetchrow("select carrier_code, name, name_en, contact_email from carriers where carrier_code = $1",
                            code)
    return Carrier(*row) if row else None


async def insert_carrier(db: asyncpg.Connection, c: Carrier) -> Carrier:
    row = await db.fetchrow(
        """insert into carriers (carrier_code, name, name_en, contact_email) values ($1, $2, $3, $4)
           returning carrier_code, name, name_en, contact_email""",
        c.carrier_code, c.name, c.name_en, c.contact_email)
    return Carrier(*row)
