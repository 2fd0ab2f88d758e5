"""The cost of a single-row write through the API: POST /v1/assets (published, so every derived row is
written: audit, change feed, event, summaries, tile cells), then PATCH of its availability and position.
Run by hand, by `POST=1 bash bench/run.sh ...`, which runs it against a database migrated by each checkout
(PYTHONPATH chooses the checkout's `registry`); prints the median and p95 in ms of each, one line.

    DATABASE_URL=... PYTHONPATH=<checkout> .venv/bin/python bench/post_asset.py 200 <tag>
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time

from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.auth import queries as key_queries
from registry.db.admin import admin_session
from registry.settings import Settings


def _ms(times: list[float]) -> str:
    times = sorted(times)
    return f"median {statistics.median(times):.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms"


async def main(n: int, tag: str) -> None:
    settings = Settings.from_env()
    created = await admin_session(settings, lambda db: key_queries.create_key(db, "municipality", "131016", "bench"))
    headers = {"Authorization": f"Bearer {created.key}"}
    posts: list[float] = []
    patches: list[float] = []
    async with AsyncTestClient(app=create_app(settings)) as client:
        for i in range(n + 20):  # the first 20 warm the pool and the caches, and are not counted
            where = [139.74 + (i % 50) * 0.0007, 35.68 + (i // 50) * 0.0009]
            body = {"source_id": f"{tag}-{i}", "category": "utility_pole", "name": "pole", "status": "published",
                    "geometry": {"type": "Point", "coordinates": where}}
            t = time.perf_counter()
            r = await client.post("/v1/assets", json=body, headers=headers)
            elapsed = (time.perf_counter() - t) * 1000
            assert r.status_code == 201, r.text
            asset = r.json()
            t = time.perf_counter()
            r = await client.patch(f"/v1/assets/{asset['id']}", json={
                "availability": "occupied", "geometry": {"type": "Point", "coordinates": [
                    body["geometry"]["coordinates"][0] + 0.003, body["geometry"]["coordinates"][1]]}},
                headers={**headers, "If-Match": r.headers["etag"]})
            assert r.status_code == 200, r.text
            if i >= 20:
                posts.append(elapsed)
                patches.append((time.perf_counter() - t) * 1000)
    print(f"POST /v1/assets {_ms(posts)}; PATCH /v1/assets/{{id}} {_ms(patches)} ({n} each)")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "bench"))
