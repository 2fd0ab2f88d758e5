"""Deterministic fixture assets for search tests, and helpers to publish them."""

from __future__ import annotations

import random
from typing import Any

from litestar.testing import AsyncTestClient

CHIYODA, SHINJUKU, OSAKA_CITY = "131016", "131041", "271004"
CATEGORIES = ["rooftop", "streetlight", "utility_pole", "bus_stop", "subway_entrance", "traffic_signal"]
AVAILABILITY = ["offered", "on_request", "partly_available", "occupied"]
# Town halls (from the reference data) that the fixture points scatter around.
CENTRES = {CHIYODA: (139.7536111, 35.6938889), SHINJUKU: (139.7036111, 35.6938889), OSAKA_CITY: (135.5022, 34.6939)}


def fixture_assets(n_per_municipality: int = 30, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    assets = []
    for code, (lon, lat) in CENTRES.items():
        for i in range(n_per_municipality):
            assets.append({
                "municipality_code": code,
                "source_id": f"{code}-{i:03d}",
                "category": rng.choice(CATEGORIES),
                "name": f"asset {code} {i}",
                "address": f"{code} 1-{i}",
                "geometry": {"type": "Point",
                             "coordinates": [round(lon + rng.uniform(-0.02, 0.02), 7),
                                             round(lat + rng.uniform(-0.015, 0.015), 7)]},
                "height_m": round(rng.uniform(3, 60), 1),
                "power": rng.choice(["yes", "no", "unknown"]),
                "fibre_distance_m": round(rng.uniform(0, 800), 1),
                "availability": rng.choice(AVAILABILITY),
                "max_tenants": 3,
            })
    return assets


async def publish(client: AsyncTestClient, headers: dict[str, str], asset: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in asset.items() if k != "municipality_code"}
    r = await client.post("/v1/assets", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()
