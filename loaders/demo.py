"""The national demo: deterministic assets per prefecture as in the national chart, Tokyo's priority
areas, carriers, joint procurement for Tokyo's 62 municipalities, and sample keys.

Every asset goes through the same validation and bulk path as a municipality's own file. Source ids
are derived from the municipality, category and a counter; a re-run creates only the assets that do not
exist yet and leaves every existing one, application, need and tender as it is (issue 14: reloading them
had put an asset whose 4 of 4 slots approved applications held back to 0 of 4 "offered"). Demo assets a
previous run made at another scale are withdrawn unless an application names them, so the published
counts equal the chart at the scale asked for.
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import asyncpg
import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import Point

from loaders.assets import LoadReport, load_source
from loaders.demo_areas import square, tokyo_priority_areas
from loaders.formats import LoadError, Source
from loaders.merge import LOGGED_BY_THE_LOAD
from loaders.priority_areas import AreaReport, store_areas
from registry.db.admin import admin_session
from registry.paths import PROJECT_ROOT
from registry.procurement import queries as proc_queries
from registry.procurement.demand import RoundPools
from registry.procurement.demo import seed_demo
from registry.procurement.savings import headline_text
from registry.procurement.savings import report as savings_report
from registry.settings import Settings, local_base_url, serve_address

# Assets opened per prefecture (national chart, section 2 of the domain reference), by prefecture number.
# Niigata and Osaka appear on the chart without a legible count; the demo gives them none rather than
# invent a figure, so the statistics reproduce exactly the counts that can be read.
CHART: dict[str, tuple[str, int]] = {
    "28": ("Hyogo", 23_429), "13": ("Tokyo", 15_170), "11": ("Saitama", 10_053), "21": ("Gifu", 7_531),
    "30": ("Wakayama", 6_475), "35": ("Yamaguchi", 5_338), "19": ("Yamanashi", 3_952), "22": ("Shizuoka", 3_654),
    "24": ("Mie", 3_589), "23": ("Aichi", 3_006), "16": ("Toyama", 2_144), "17": ("Ishikawa", 2_129),
    "42": ("Nagasaki", 2_079), "20": ("Nagano", 1_594), "09": ("Tochigi", 1_158), "47": ("Okinawa", 382),
}
SEED = 2024
DEMO_PREFIX = "demo-"
TOKYO = "130001"
CARRIERS = (("docomo", "株式会社NTTドコモ", "NTT DOCOMO, INC."),
            ("kddi", "KDDI株式会社", "KDDI CORPORATION"),
            ("softbank", "ソフトバンク株式会社", "SoftBank Corp."),
            ("rakuten", "楽天モバイル株式会社", "Rakuten Mobile, Inc."))
KEYS = (("admin", "admin", "platform admin"), ("prefecture", TOKYO, "Tokyo Metropolitan Government"),
        ("municipality", "131016", "Chiyoda City"), ("municipality", "131041", "Shinjuku City"),
        ("carrier", "docomo", "NTT docomo"))
KEY_NAME_PREFIX = "demo: "
# The upload the printed curl line sends: a 自治体標準オープンデータセット 公共施設一覧 file of Shinjuku (131041).
SAMPLE_UPLOAD = PROJECT_ROOT / "loaders" / "samples" / "131041_public_facilities.csv"

# Category mixes: Tokyo's metropolitan assets (subway entrances, parks, bus stops, land, rooftops) and the
# street furniture most prefectures opened.
TOKYO_WARD_MIX = {"subway_entrance": 0.24, "bus_stop": 0.28, "park": 0.14, "land": 0.12, "rooftop": 0.14,
                  "streetlight": 0.05, "structure": 0.03}
TOKYO_TAMA_MIX = {"bus_stop": 0.34, "park": 0.18, "land": 0.18, "rooftop": 0.16, "streetlight": 0.1,
                  "structure": 0.04}
NATIONAL_MIX = {"streetlight": 0.44, "utility_pole": 0.24, "rooftop": 0.1, "traffic_signal": 0.05, "land": 0.05,
                "structure": 0.04, "signage": 0.03, "bus_stop": 0.03, "park": 0.02}
_LABEL = {"streetlight": "街路灯", "utility_pole": "電柱", "rooftop": "庁舎等屋上", "traffic_signal": "信号柱",
          "land": "市有地", "structure": "鉄塔・工作物", "signage": "案内標識", "bus_stop": "バス停上屋",
          "subway_entrance": "地下鉄出入口", "park": "公園"}
# height range (m), share drawn as a polygon, polygon side range (m), spare load range (kg)
_SHAPE: dict[str, tuple[tuple[float, float] | None, float, tuple[float, float], tuple[float, float] | None]] = {
    "streetlight": ((6, 12), 0, (0, 0), (10, 60)), "utility_pole": ((10, 16), 0, (0, 0), (20, 120)),
    "traffic_signal": ((5, 7), 0, (0, 0), (10, 40)), "bus_stop": ((2.5, 3.5), 0, (0, 0), (20, 80)),
    "subway_entrance": ((3, 5), 0, (0, 0), (50, 200)), "signage": ((4, 8), 0, (0, 0), (10, 40)),
    "structure": ((15, 60), 0, (0, 0), (100, 800)), "rooftop": ((10, 60), 0.4, (15, 45), (200, 2000)),
    "land": (None, 0.7, (20, 90), None), "park": (None, 0.8, (40, 220), None),
}
_CONSTRAINTS = ("landscape", "heritage", "resident_consultation")


@dataclass
class Municipality:
    code: str
    name: str
    lon: float
    lat: float
    weight: float
    spread_km: float
    ward_like: bool


def allocate(total: int, weights: list[float]) -> list[int]:
    """Split `total` in proportion to weights, summing exactly (largest remainder)."""
    wsum = sum(weights)
    raw = [total * w / wsum for w in weights]
    counts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (counts[i] - raw[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def chart_counts(scale: float) -> dict[str, int]:
    return {number: round(count * scale) for number, (_, count) in CHART.items()}


def _municipality(row: asyncpg.Record, has_wards: set[str]) -> Municipality:
    name: str = row["name"]
    if row["code"][:2] == "13" and name.endswith("区"):
        weight, spread, ward_like = 5.0, 1.3, True     # Tokyo's special wards: dense, compact
    elif row["code"] in has_wards:
        weight, spread, ward_like = 10.0, 6.0, False   # designated cities
    elif name.endswith("市"):
        weight, spread, ward_like = 3.0, 3.0, False
    elif name.endswith("町"):
        weight, spread, ward_like = 1.0, 3.5, False
    else:
        weight, spread, ward_like = 0.5, 4.0, False
    return Municipality(row["code"], name, row["lon"], row["lat"], weight, spread, ward_like)


async def _municipalities(conn: asyncpg.Connection, number: str) -> list[Municipality]:
    rows = await conn.fetch(
        """select m.code::text as code, m.name, ST_X(m.town_hall) as lon, ST_Y(m.town_hall) as lat
             from municipalities m
            where left(m.code, 2) = $1 and m.kind = 'municipality' and m.town_hall is not null
            order by m.code""", number)
    has_wards = {r[0] for r in await conn.fetch(
        "select distinct parent_code::text from municipalities where kind = 'ward' and left(code, 2) = $1", number)}
    return [_municipality(r, has_wards) for r in rows]


def generate(m: Municipality, count: int, pref_name: str, mix: dict[str, float]) -> pd.DataFrame:
    """`count` assets around a town hall; the same inputs always give the same rows."""
    rng = np.random.default_rng(SEED * 1_000_003 + int(m.code))
    cats = list(mix)
    probs = np.array([mix[c] for c in cats])
    chosen = rng.choice(len(cats), size=count, p=probs / probs.sum())
    radius = np.abs(rng.normal(0, m.spread_km, count)) + 0.05
    bearing = rng.uniform(0, 2 * math.pi, count)
    lats = np.clip(m.lat + radius * np.cos(bearing) / 110.54, 20.5, 45.5)
    lons = np.clip(m.lon + radius * np.sin(bearing) / (111.32 * math.cos(math.radians(m.lat))), 123.0, 154.0)
    serial: dict[str, int] = {}
    records: list[dict[str, Any]] = []
    geoms: list[Any] = []
    base_day = date(2024, 4, 1)
    for i in range(count):
        cat = cats[chosen[i]]
        serial[cat] = serial.get(cat, 0) + 1
        heights, polygon_share, sides, loads = _SHAPE[cat]
        lon, lat = float(lons[i]), float(lats[i])
        u = rng.random(12)
        area = None
        if u[0] < polygon_share:
            side = sides[0] + u[1] * (sides[1] - sides[0])
            geoms.append(square(lon, lat, side, u[2] * math.pi / 2))
            area = round(side * side, 1)
        else:
            geoms.append(Point(lon, lat))
            if cat in ("land", "park", "rooftop"):
                area = round(100 + u[1] * 3000, 1)
        height = None if heights is None else round(heights[0] + u[3] * (heights[1] - heights[0]), 1)
        availability = ("offered" if u[4] < 0.7 else "on_request" if u[4] < 0.85 else "partly_available"
                        if u[4] < 0.92 else "occupied" if u[4] < 0.97 else "reserved")
        max_tenants = 1 + int(u[5] * (4 if cat in ("rooftop", "structure", "land") else 2))
        current = max_tenants if availability == "occupied" else min(max_tenants - 1, int(u[6] * 2))
        power_yes = 0.85 if cat in ("streetlight", "traffic_signal", "subway_entrance") else 0.45
        records.append({
            "source_id": f"{DEMO_PREFIX}{m.code}-{cat}-{serial[cat]:05d}",
            "municipality_code": m.code,
            "category": cat,
            "name": f"{m.name} {_LABEL[cat]} {serial[cat]}",
            "address": f"{pref_name}{m.name}{1 + int(u[7] * 9)}丁目{1 + int(u[8] * 30)}番",
            "position_accuracy_m": 1.0 if u[0] < polygon_share else round(1 + u[9] * 9, 1),
            "height_m": height,
            "mountable_height_m": None if height is None else round(height * 0.85, 1),
            "spare_load_kg": None if loads is None else round(loads[0] + u[10] * (loads[1] - loads[0]), 1),
            "power": "yes" if u[11] < power_yes else ("no" if u[11] < power_yes + 0.2 else "unknown"),
            "fibre_distance_m": round(float(rng.exponential(180 if m.ward_like else 450)), 1),
            "area_m2": area,
            "availability": availability,
            "current_tenants": current,
            "max_tenants": max_tenants,
            "constraints": _CONSTRAINTS[int(u[2] * 3)] if u[9] < 0.15 else "",
            "fee_rule": "行政財産使用料条例に基づく年額" if u[10] < 0.7 else "個別協議",
            "permit_type": "use_permit" if u[5] < 0.7 else ("lease" if u[5] < 0.95 else "other"),
            "contact": f"{m.name} 情報政策課",
            "source": DEMO_SOURCE,
            "last_verified": (base_day + timedelta(days=int(u[3] * 540))).isoformat(),
            "visibility": "carriers" if u[6] < 0.85 else ("public" if u[6] < 0.93 else "restricted"),
            "status": "published",
        })
    frame = pd.DataFrame.from_records(records)
    frame["geometry"] = geoms
    return frame


# The demo's own assets of a prefecture that exist already, whatever happened to them since: a re-run
# creates only the others, so slots taken by approved applications, availability, edits and withdrawals stay.
_EXISTING = """select source_id from assets where left(municipality_code, 2) = $1 and source_id like 'demo-%'"""
# Demo assets a run at another scale no longer generates are withdrawn, so the published counts equal the
# chart, and marked in `source` as the demo's doing; a later run that generates them again publishes exactly
# those again. An asset named in any application is live state and is never touched; nor is an asset that
# someone else withdrew (its source lacks the mark).
DEMO_SOURCE = "national demo"
_STALE_SOURCE = "national demo: withdrawn by a run at another scale"
# Both log their own rows (sql/180), as a load does: a scale change withdraws thousands in one statement.
_WITHDRAW_STALE = f"""
with old as (select a as stored from assets a
              where left(a.municipality_code, 2) = $1 and a.source_id like 'demo-%' and a.status <> 'withdrawn'
                and a.source_id <> all($2::text[])
                and not exists (select from application_assets aa
                                 where aa.municipality_code = a.municipality_code and aa.asset_id = a.asset_id)
                for update of a),
w as (update assets a set status = 'withdrawn', source = '{_STALE_SOURCE}', version = version + 1, updated_at = now()
        from old o where a.municipality_code = (o.stored).municipality_code and a.asset_id = (o.stored).asset_id
      returning a)
select count(*)::int, app.assets_logged(null, array(select stored from old), array(select a from w)) from w"""
_REPUBLISH = f"""
with old as (select a as stored from assets a
              where left(a.municipality_code, 2) = $1 and a.source_id = any($2::text[]) and a.status = 'withdrawn'
                and a.source = '{_STALE_SOURCE}'
                and not exists (select from application_assets aa
                                 where aa.municipality_code = a.municipality_code and aa.asset_id = a.asset_id)
                for update of a),
p as (update assets a set status = 'published', source = '{DEMO_SOURCE}', version = version + 1, updated_at = now()
        from old o where a.municipality_code = (o.stored).municipality_code and a.asset_id = (o.stored).asset_id
      returning a)
select count(*)::int, app.assets_logged(null, array(select stored from old), array(select a from p)) from p"""


async def load_prefecture(settings: Settings, number: str, count: int) -> tuple[LoadReport, int, int, int]:
    """Create the prefecture's missing demo assets: (report of the new ones, existing ones kept, stale ones
    withdrawn, ones a run at another scale had withdrawn published again)."""

    async def work(conn: asyncpg.Connection) -> tuple[LoadReport, int, int, int]:
        pref_name = await conn.fetchval("select name from prefectures where number = $1", number)
        munis = await _municipalities(conn, number)
        counts = allocate(count, [m.weight for m in munis])
        frames = []
        for m, n in zip(munis, counts, strict=True):
            if n:
                mix = (TOKYO_WARD_MIX if m.ward_like else TOKYO_TAMA_MIX) if number == "13" else NATIONAL_MIX
                frames.append(generate(m, n, pref_name, mix))
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        wanted = frame["source_id"].tolist() if not frame.empty else []
        existing = {r[0] for r in await conn.fetch(_EXISTING, number)}
        kept = sum(1 for s in wanted if s in existing)
        if kept:
            frame = frame[~frame["source_id"].isin(existing)].reset_index(drop=True)
        if frame.empty:
            report = LoadReport(f"demo {number}", None, 0, 0, 0, 0, committed=True)
        else:
            geometry = gpd.GeoSeries(frame.pop("geometry"), crs=4326)
            source = Source(frame.astype(object), geometry, "demo", f"demo {CHART[number][0]}")
            report = await load_source(conn, source, tenant=None)
            if report.rejected:
                raise RuntimeError(f"demo data rejected: {report.issues[:3]}")
        await conn.execute(LOGGED_BY_THE_LOAD)
        withdrawn = await conn.fetchval(_WITHDRAW_STALE, number, wanted)
        republished = await conn.fetchval(_REPUBLISH, number, wanted)
        return report, kept, withdrawn, republished

    return await admin_session(settings, work)


async def _seed_tokyo(settings: Settings) -> AreaReport:

    async def work(conn: asyncpg.Connection) -> AreaReport:
        halls = {r["code"]: (r["name"], r["lon"], r["lat"]) for r in await conn.fetch(
            """select code::text as code, name, ST_X(town_hall) as lon, ST_Y(town_hall) as lat from municipalities
                where prefecture_code = $1 and kind = 'municipality' and town_hall is not null""", TOKYO)}
        rows = tokyo_priority_areas(halls)
        return await store_areas(conn, TOKYO, rows, AreaReport(features=len(rows)))

    return await admin_session(settings, work)


async def _carriers_and_keys(settings: Settings) -> list[tuple[str, str, str]]:
    from registry.auth import queries as key_queries

    async def work(conn: asyncpg.Connection) -> list[tuple[str, str, str]]:
        for code, name, name_en in CARRIERS:
            await conn.execute("""insert into carriers (carrier_code, name, name_en) values ($1, $2, $3)
                                  on conflict (carrier_code) do nothing""", code, name, name_en)
        # Keys are shown once and stored hashed, so each run revokes the previous run's demo keys and
        # issues fresh ones: never more than one live demo key per role.
        await conn.execute("""update api_keys set revoked_at = now()
                               where name like 'demo: %' and revoked_at is null""")
        created = []
        for role, tenant, label in KEYS:
            key = await key_queries.create_key(conn, role, tenant, KEY_NAME_PREFIX + label)
            created.append((role, tenant if role != "admin" else "admin", key.key))
        return created

    return await admin_session(settings, work)


def savings_headline(realised_yen: int, process_yen: int) -> str:
    """The round's savings with the method of each figure (domain reference, section 5): the realised and the
    process savings are different measures, so they are named apart before they are added."""
    return headline_text(realised_yen, process_yen)  # one home: the savings report's own headline (issue 16)


async def _round_savings(conn: asyncpg.Connection, round_id: str) -> tuple[int, int]:
    """(realised, process) savings of a round, computed as its savings report does."""
    r = await proc_queries.get_round(conn, round_id)
    if r is None:
        return 0, 0
    rp = await RoundPools.load(conn, r)
    rows = savings_report(rp.inputs(), await proc_queries.visible_baselines(conn, r.organiser_code, r.round_id))
    total = next(row for row in rows if row.level == "total")
    return ((total.realised_savings.amount_yen if total.realised_savings else 0),
            (total.process_savings.amount_yen if total.process_savings else 0))


async def _procurement(settings: Settings) -> str:

    async def work(conn: asyncpg.Connection) -> str:
        codes = [r[0] for r in await conn.fetch(
            "select code::text from municipalities where prefecture_code = $1 and kind = 'municipality' order by code",
            TOKYO)]
        title = f"Joint procurement demo {SEED}"
        existing = await conn.fetchval(
            "select round_id::text from procurement_rounds where organiser_code = $1 and title = $2", TOKYO, title)
        if existing:
            # Its needs and tenders may have moved on since (withdrawn pledges, new tenders): kept as they are.
            realised, process = await _round_savings(conn, existing)
            return (f"joint procurement: round {existing} exists already (kept as it is); "
                    f"{savings_headline(realised, process)}")
        result = await seed_demo(conn, TOKYO, codes, SEED)
        return (f"joint procurement: round {result['round_id']} for {len(codes)} Tokyo municipalities, "
                f"{result['needs']} needs, {len(result['tender_ids'])} tenders awarded; "
                f"{savings_headline(result['realised_savings_yen'], result['process_savings_yen'])}")

    return await admin_session(settings, work)


async def run_demo(settings: Settings, scale: float = 1.0, out: Any = None) -> int:
    """Load everything; print a summary, keys and curl lines. Returns a process exit code."""
    out = out or sys.stdout
    if not 0 < scale <= 10:
        print("registry: --scale is a fraction of the national counts, between 0 and 10 (e.g. 0.01)", file=sys.stderr)
        return 2
    try:
        base = local_base_url(*serve_address())
    except ValueError as exc:
        print(f"registry: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    try:
        targets = chart_counts(scale)
        total = 0
        for number, count in targets.items():
            t0 = time.monotonic()
            report, kept, withdrawn, republished = await load_prefecture(settings, number, count)
            total += count
            extra = (f", {withdrawn} stale demo assets withdrawn" if withdrawn else "") + (
                f", {republished} withdrawn at another scale published again" if republished else "")
            print(f"{CHART[number][0]:<10} {count:>7,} assets: {report.inserted:,} new, {kept:,} existing kept as "
                  f"they are{extra} ({time.monotonic() - t0:.1f}s)", file=out)
        areas = await _seed_tokyo(settings)
        print(f"Tokyo priority areas: {areas.features} ({areas.inserted} new, {areas.updated} updated, "
              f"{areas.unchanged} unchanged)", file=out)
        keys = await _carriers_and_keys(settings)
        print(await _procurement(settings), file=out)
    except (OSError, asyncpg.PostgresError, LoadError, RuntimeError) as exc:
        print(f"registry: the demo could not be loaded: {exc}", file=sys.stderr)
        return 1
    print(f"\n{total:,} demo assets in {len(targets)} prefectures ({time.monotonic() - started:.0f}s). "
          "Carriers: " + ", ".join(c[0] for c in CARRIERS) + ".", file=out)
    print("\nSample keys (shown once; a re-run revokes them and prints new ones):", file=out)
    for role, tenant, key in keys:
        print(f"  {role:<12} {tenant:<8} {key}", file=out)
    by = {(role, tenant): key for role, tenant, key in keys}
    print(f"\nTry it (after `registry serve`, which serves on {base}: KYODO_HOST and KYODO_PORT change it):",
          file=out)
    lines = [
        (by[("prefecture", TOKYO)], "/v1/municipalities?prefecture=13"),
        (by[("admin", "admin")], "/v1/stats/assets?group_by=prefecture"),
        (by[("prefecture", TOKYO)], "/v1/stats/assets?group_by=category&prefecture=13"),
        (by[("municipality", "131016")], "/v1/municipalities/131016/assets?limit=5"),
        (by[("carrier", "docomo")], "/v1/assets?bbox=139.74,35.68,139.77,35.70&limit=5"),
        (by[("carrier", "docomo")], "/v1/assets?near=139.7671,35.6812&radius=500&min_height=10"),
        (by[("carrier", "docomo")], "/v1/priority-areas/coverage?prefecture=13&distance=200"),
    ]
    for key, path in lines:
        print(f"  curl -s -H 'Authorization: Bearer {key}' '{base}{path}'", file=out)
    # A file that ships with the code, so the line works as printed: a dry run of Shinjuku's facility list.
    print(f"  curl -s -H 'Authorization: Bearer {by[('municipality', '131041')]}' -F 'file=@{SAMPLE_UPLOAD}' "
          f"'{base}/v1/assets/uploads?dry_run=true'", file=out)
    return 0
