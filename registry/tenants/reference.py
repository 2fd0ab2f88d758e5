"""Prefectures and municipalities from the japancode package, corrected, into the reference tables."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import asyncpg

from registry.codes import normalise, with_check_digit
from registry.tenants.models import Prefecture

# japancode still lists Hamamatsu's seven wards, abolished on 2024-01-01 and replaced by three.
_HAMAMATSU = "221309"
_HAMAMATSU_OLD_WARDS = {with_check_digit(f"2213{i}") for i in range(1, 8)}
_HAMAMATSU_NEW_WARDS = (
    # code, name, kana, town-hall lat, lon (the ward offices of the former Naka, Hamakita, Tenryu wards)
    (with_check_digit("22138"), "浜松市 中央区", "はままつし ちゅうおうく", 34.71083333, 137.7266667),
    (with_check_digit("22139"), "浜松市 浜名区", "はままつし はまなく", 34.79305556, 137.79),
    (with_check_digit("22140"), "浜松市 天竜区", "はままつし てんりゅうく", 34.87277778, 137.8161111),
)


@dataclass(frozen=True)
class MunicipalityRow:
    """A municipality as the source lists it, its town hall as latitude and longitude (the API's
    `Municipality` carries the stored point as GeoJSON instead)."""

    code: str
    prefecture_code: str
    name: str
    kana: str
    kind: str
    parent_code: str | None
    lat: float
    lon: float


def _read(name: str) -> list[dict]:
    return json.loads(resources.files("japancode").joinpath("data", name).read_text(encoding="utf-8"))


def prefecture_rows() -> list[Prefecture]:
    rows = []
    for p in _read("prefectures.json"):
        code = normalise(p["lgcode"])
        rows.append(Prefecture(code, code[:2], p["pref"], p["prefkana"], p["pref_en"],
                                  p.get("ISO3166-2") or f"JP-{code[:2]}"))
    return rows


def municipality_rows() -> list[MunicipalityRow]:
    raw = _read("municipalities.json")
    by_name = {(m["pid"], m["city"]): normalise(m["lgcode"]) for m in raw if " " not in m["city"]}
    rows: list[MunicipalityRow] = []
    for m in raw:
        code = normalise(m["lgcode"])
        if code in _HAMAMATSU_OLD_WARDS:
            continue
        pref = with_check_digit(code[:2] + "000")
        parent = None
        kind = "municipality"
        if " " in m["city"]:
            kind = "ward"
            parent = by_name[(m["pid"], m["city"].split(" ", 1)[0])]
        rows.append(MunicipalityRow(code, pref, m["city"], m["citykana"], kind, parent, float(m["lat"]),
                                    float(m["lng"])))
    for code, name, kana, lat, lon in _HAMAMATSU_NEW_WARDS:
        rows.append(MunicipalityRow(code, with_check_digit("22000"), name, kana, "ward", _HAMAMATSU, lat, lon))
    return rows


async def load_reference(conn: asyncpg.Connection) -> tuple[int, int]:
    """Upsert both tables in one transaction; rows gone from the source are removed. Returns the counts."""
    prefs = prefecture_rows()
    munis = municipality_rows()
    async with conn.transaction():
        await conn.executemany(
            """insert into prefectures (code, number, name, kana, name_en, iso_code)
               values ($1, $2, $3, $4, $5, $6)
               on conflict (code) do update set name = excluded.name, kana = excluded.kana,
                 name_en = excluded.name_en, iso_code = excluded.iso_code""",
            [(p.code, p.number, p.name, p.kana, p.name_en, p.iso_code) for p in prefs],
        )
        # Cities first, so that every ward's parent exists when the ward arrives.
        ordered = sorted(munis, key=lambda m: m.kind != "municipality")
        await conn.executemany(
            """insert into municipalities (code, prefecture_code, name, kana, kind, parent_code, town_hall)
               values ($1, $2, $3, $4, $5, $6, ST_SetSRID(ST_MakePoint($7, $8), 4326))
               on conflict (code) do update set prefecture_code = excluded.prefecture_code,
                 name = excluded.name, kana = excluded.kana, kind = excluded.kind,
                 parent_code = excluded.parent_code, town_hall = excluded.town_hall""",
            [(m.code, m.prefecture_code, m.name, m.kana, m.kind, m.parent_code, m.lon, m.lat) for m in ordered],
        )
        await conn.execute("delete from municipalities where code <> all($1::text[])", [m.code for m in munis])
    return len(prefs), len(munis)
