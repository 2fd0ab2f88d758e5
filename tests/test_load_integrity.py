"""The rules sql/070 made cheaper for bulk loads still hold, row by row: the municipality reference
(a foreign key before, a check per statement now), the derived current_tenants, the coarse location."""

from __future__ import annotations

import math
import random
import time
import uuid
from itertools import accumulate, islice, pairwise

import asyncpg
import pytest

from loaders import validate
from loaders.assets import load_assets
from registry.codes import with_check_digit
from registry.db.admin import admin_session
from tests.test_load_assets import write_lights_csv

CHIYODA = "131016"
INSERT = """
insert into assets (municipality_code, source_id, category, name, geom)
values ($1, $2, 'streetlight', 'x', ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326))
returning asset_id"""


async def _unlisted_code(owner: asyncpg.Connection) -> str:
    """A well-formed municipality code (valid check digit) that is not in the reference list."""
    known = {r[0] for r in await owner.fetch("select code::text from municipalities")}
    for n in range(13100, 13999):
        code = with_check_digit(f"{n:05d}")
        if code not in known and code[2:5] != "000":
            return code
    raise AssertionError("no unlisted code found")


async def test_an_asset_must_name_a_listed_municipality(owner: asyncpg.Connection) -> None:
    missing = await _unlisted_code(owner)
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await owner.execute(INSERT, missing, "a")
    assert caught.value.constraint_name == "assets_municipality_code_fkey"
    assert missing in (caught.value.detail or "")
    # One bad row among good ones fails the whole statement, as the foreign key did.
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await owner.execute("""
            insert into assets (municipality_code, source_id, category, name, geom)
            select c, 'multi-' || c, 'streetlight', 'x', ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326)
              from unnest($1::text[]) c""", [CHIYODA, missing, "131041"])
    assert await owner.fetchval("select count(*) from assets") == 0
    await owner.execute(INSERT, CHIYODA, "b")
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await owner.execute("update assets set municipality_code = $1 where source_id = 'b'", missing)
    assert await owner.fetchval("select municipality_code::text from assets where source_id = 'b'") == CHIYODA


async def test_a_municipality_in_use_cannot_be_deleted_or_renumbered(owner: asyncpg.Connection) -> None:
    await owner.execute(INSERT, CHIYODA, "a")
    with pytest.raises(asyncpg.ForeignKeyViolationError) as caught:
        await owner.execute("delete from municipalities where code = $1", CHIYODA)
    assert caught.value.constraint_name == "assets_municipality_code_fkey"
    spare = await _unlisted_code(owner)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await owner.execute("update municipalities set code = $1 where code = $2", spare, CHIYODA)
    assert await owner.fetchval("select count(*) from municipalities where code = $1", CHIYODA) == 1
    # Other updates of a used municipality, and deleting an unused one, go through.
    await owner.execute("update municipalities set name = name || '' where code = $1", CHIYODA)
    unused = await owner.fetchval("""
        select code::text from municipalities m
         where kind = 'ward' and not exists (select from assets a where a.municipality_code = m.code)
           and not exists (select from municipality_settings s where s.municipality_code = m.code)
         limit 1""")
    tx = owner.transaction()
    await tx.start()
    try:
        assert await owner.execute("delete from municipalities where code = $1", unused) == "DELETE 1"
    finally:
        await tx.rollback()


async def test_a_delete_waits_for_a_writer_that_references_the_municipality(owner: asyncpg.Connection,
                                                                            settings) -> None:
    """The check locks the municipalities it names (KEY SHARE), as the foreign key did: a delete of
    one of them waits for the writer and then sees its committed asset."""
    writer = await asyncpg.connect(settings.database_url)
    deleter = await asyncpg.connect(settings.database_url)
    try:
        ward = await owner.fetchval("""
            select code::text from municipalities m where kind = 'ward'
               and not exists (select from municipality_settings s where s.municipality_code = m.code) limit 1""")
        tx = writer.transaction()
        await tx.start()
        await writer.execute(INSERT, ward, "w")
        await deleter.execute("set lock_timeout = '300ms'")
        with pytest.raises(asyncpg.LockNotAvailableError):
            await deleter.execute("delete from municipalities where code = $1", ward)
        await tx.commit()
        with pytest.raises(asyncpg.ForeignKeyViolationError):
            await deleter.execute("delete from municipalities where code = $1", ward)
    finally:
        await writer.close()
        await deleter.close()


async def test_current_tenants_is_still_derived(owner: asyncpg.Connection) -> None:
    await owner.execute("""
        insert into assets (municipality_code, source_id, category, name, geom, current_tenants, max_tenants)
        values ($1, 'c', 'streetlight', 'x', ST_SetSRID(ST_MakePoint(139.75, 35.69), 4326), 3, 5)""", CHIYODA)
    assert await owner.fetchval("select current_tenants from assets where source_id = 'c'") == 0
    # No applications: any value written is replaced by the count (0); an untouched value stays.
    await owner.execute("update assets set current_tenants = 2 where source_id = 'c'")
    assert await owner.fetchval("select current_tenants from assets where source_id = 'c'") == 0
    await owner.execute("update assets set name = 'y' where source_id = 'c'")
    assert await owner.fetchval("select current_tenants from assets where source_id = 'c'") == 0


def _mesh3_centre(lon: float, lat: float) -> tuple[float, float]:
    """JIS X 0410 third-level mesh (45" x 30") centre, computed in Python."""
    return 100 + (math.floor((lon - 100) * 80) + 0.5) / 80, (math.floor(lat * 120) + 0.5) / 120


async def test_coarse_location_is_the_mesh_centre(owner: asyncpg.Connection) -> None:
    rng = random.Random(13)
    points = [(rng.uniform(123, 154), rng.uniform(24, 45.5)) for _ in range(500)]
    # Cell edges themselves (1/80 degree of longitude, 1/120 of latitude) fall in the cell they start.
    points += [(139 + 57 / 80, 35 + 83 / 120), (140.0, 36.0)]
    got = await owner.fetch("""
        select ST_X(c) as x, ST_Y(c) as y
          from unnest($1::float8[], $2::float8[]) with ordinality p(lon, lat, i),
               lateral (select app.mesh3_centre(ST_SetSRID(ST_MakePoint(lon, lat), 4326)) as c) m
         order by i""", [p[0] for p in points], [p[1] for p in points])
    for (lon, lat), row in zip(points, got, strict=True):
        assert (row["x"], row["y"]) == pytest.approx(_mesh3_centre(lon, lat), abs=1e-12)


async def test_loaded_assets_get_time_ordered_ids(settings, owner: asyncpg.Connection, tmp_path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Loaded assets get UUIDv7 ids (loaders/merge.py): unique, version 7 with the RFC variant, the load's
    time in their first 48 bits, and rising with the row number within a batch."""
    monkeypatch.setattr(validate, "BATCH_ROWS", 40)
    path = tmp_path / "lights.csv"
    write_lights_csv(path, 100)
    started = int(time.time() * 1000)
    await admin_session(settings, lambda db: load_assets(db, path, tenant=CHIYODA))
    finished = int(time.time() * 1000)
    rows = await owner.fetch("select source_id, asset_id from assets order by source_id")
    ids = [uuid.UUID(str(r["asset_id"])) for r in rows]
    assert len(set(ids)) == len(ids) == 100
    assert {i.version for i in ids} == {7} and {i.variant for i in ids} == {uuid.RFC_4122}
    assert all(started - 1000 <= i.int >> 80 <= finished + 1000 for i in ids)
    cuts = list(accumulate(islice(validate.batch_sizes(40), 5), initial=0))
    assert cuts == [0, 10, 20, 40, 80, 120]  # rows 1-10, 11-20, 21-40, 41-80, 81-100 (source ids L00001...)
    for batch in (ids[start:stop] for start, stop in pairwise(cuts)):
        assert batch == sorted(batch)
        assert len({i.int >> 80 for i in batch}) == 1  # one statement, one millisecond
    # An asset made otherwise keeps a random (version 4) id.
    made = await owner.fetchval(INSERT, CHIYODA, "api")
    assert uuid.UUID(str(made)).version == 4
