"""asset_geometry_valid (sql/194) gives ST_IsValid's verdict on every geometry, points without GEOS.

Oracle: PostGIS's ST_IsValid on the same geometry. The check is read back as stored in the catalogue and applied
to each geometry as `geom`."""

from __future__ import annotations

import asyncpg

GEOMETRIES = [
    "'SRID=4326;POINT(139.75 35.69)'::geometry",
    "'SRID=4326;POINT EMPTY'::geometry",
    "'SRID=4326;POINT Z (139.75 35.69 12)'::geometry",
    "ST_SetSRID(ST_MakePoint('NaN'::float8, 35.69), 4326)",
    "ST_SetSRID(ST_MakePoint(139.75, 'NaN'::float8), 4326)",
    "ST_SetSRID(ST_MakePoint('Infinity'::float8, 35.69), 4326)",
    "ST_SetSRID(ST_MakePoint(139.75, '-Infinity'::float8), 4326)",
    "ST_SetSRID(ST_MakePoint(139.75, 35.69, 'NaN'::float8), 4326)",
    "ST_SetSRID(ST_MakePointM(139.75, 35.69, 'Infinity'::float8), 4326)",
    "'SRID=4326;POLYGON((139.75 35.69, 139.76 35.69, 139.76 35.70, 139.75 35.70, 139.75 35.69))'::geometry",
    "'SRID=4326;POLYGON((139.75 35.69, 139.76 35.70, 139.76 35.69, 139.75 35.70, 139.75 35.69))'::geometry",
    "'SRID=4326;MULTIPOLYGON(((139.75 35.69, 139.76 35.69, 139.76 35.70, 139.75 35.69)))'::geometry",
    "'SRID=4326;LINESTRING(139.75 35.69, 139.75 35.69)'::geometry",
    "'SRID=4326;POLYGON EMPTY'::geometry",
]


async def test_point_validity_check_agrees_with_st_isvalid(owner: asyncpg.Connection) -> None:
    check = await owner.fetchval("select pg_get_expr(conbin, conrelid) from pg_constraint "
                                 "where conrelid = 'assets'::regclass and conname = 'asset_geometry_valid'")
    assert "ST_IsValid" in check.replace("st_isvalid", "ST_IsValid")
    verdicts = []
    for geometry in GEOMETRIES:
        row = await owner.fetchrow(f"select ({check}) as ours, ST_IsValid(geom) as postgis "
                                   f"from (select {geometry} as geom) g")
        # A CHECK fails only on false: null passes, as true does.
        assert (row["ours"] is not False) == bool(row["postgis"]), geometry
        verdicts.append(bool(row["postgis"]))
    # Both verdicts occur among the points, and among the outlines.
    assert verdicts[:9] == [True, True, True, False, False, False, False, True, True]
    assert verdicts[9:] == [True, False, True, False, True]
