"""GET /v1/assets/{id}/history (registry/assets/queries.py, HISTORY; no view since sql/176): each version's state is
the asset as the API answered it at that version, computed here from the answers of GET at each version, not from
the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.testing import AsyncTestClient

from tests.assets_fixture import CHIYODA
from tests.test_assets_registry import ROOFTOP


def _instants(values: dict[str, Any]) -> dict[str, Any]:
    """Timestamps as instants: the audit's jsonb writes +00:00 where the API writes Z."""
    return {k: datetime.fromisoformat(v) if k.endswith("_at") and v else v for k, v in values.items()}


def _comparable(feature: dict[str, Any]) -> dict[str, Any]:
    return _instants({**feature["properties"], "geom": feature["geometry"]})


async def test_each_versions_state_is_what_get_answered_at_that_version(client: AsyncTestClient, make_key) -> None:
    chiyoda = await make_key("municipality", CHIYODA)
    created = await client.post("/v1/assets", json=ROOFTOP, headers=chiyoda)
    assert created.status_code == 201, created.text
    url = f"/v1/assets/{created.json()['id']}"
    seen = [(await client.get(url, headers=chiyoda)).json()]
    for version, change in enumerate(({"height_m": 50, "address": None},
                                      {"name": "屋上 (東)", "visibility": "restricted", "max_tenants": 3},
                                      {"geometry": {"type": "Point", "coordinates": [139.7535, 35.6938]}}), start=1):
        r = await client.patch(url, json=change, headers={**chiyoda, "If-Match": f'"{version}"'})
        assert r.status_code == 200, r.text
        seen.append((await client.get(url, headers=chiyoda)).json())
    withdrawn = await client.delete(url, headers={**chiyoda, "If-Match": '"4"'})
    assert withdrawn.status_code == 200, withdrawn.text
    seen.append(withdrawn.json())

    history = (await client.get(f"{url}/history", headers=chiyoda)).json()["versions"]
    assert [v["version"] for v in history] == [1, 2, 3, 4, 5]
    assert [v["op"] for v in history] == ["create", "update", "update", "update", "withdraw"]
    for answer, version in zip(seen, history, strict=True):
        expected = _comparable(answer)
        state = _instants({**version["state"],
                           "geom": {k: v for k, v in version["state"]["geom"].items() if k != "crs"}})
        shared = set(expected) & set(state)
        assert len(shared) >= 20, shared  # every attribute the API shows, bar the id and coarse flag
        assert {k: state[k] for k in shared} == {k: expected[k] for k in shared}, version["version"]
        assert state["version"] == version["version"]
