"""A file that is not what its name says: the clerk reads what to do, never GDAL's internals."""

from __future__ import annotations

import random

from litestar.testing import AsyncTestClient

from tests.conftest import KeyFactory, assert_problem

# GDAL's words for the same failures (seen in answers before): none may reach the body.
INTERNALS = ("sqlite", "select", "driver", "/tmp", "not recognized", "vsizip")


async def test_garbage_named_gpkg_is_a_problem_in_plain_words(client: AsyncTestClient, make_key: KeyFactory) -> None:
    key = await make_key("municipality", "131016")
    garbage = random.Random(10).randbytes(4096)
    cases = [("x.gpkg", garbage, "GeoPackage"), ("x.gpkg", b"SQLite format 3\x00" + garbage, "GeoPackage"),
             ("x.geojson", garbage, "GeoJSON")]
    for name, content, kind in cases:
        r = await client.post("/v1/assets/uploads", files={"file": (name, content, "application/octet-stream")},
                              headers=key)
        # 400 "Unreadable file", as for every file that cannot be opened (tests/test_load_upload.py).
        problem = assert_problem(r, 400)
        assert f"not a {kind}" in problem["detail"] and "QGIS" in problem["detail"], r.text
        assert not [word for word in INTERNALS if word in r.text.lower()], r.text
