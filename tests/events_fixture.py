"""Shared by the event tests: a real HTTP receiver on loopback, a worker in the test's event loop, and the
asset and application helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
from litestar.testing import AsyncTestClient

from registry.app import create_app
from registry.events.worker import run
from registry.settings import Settings

POLE = {"category": "utility_pole", "name": "pole", "geometry": {"type": "Point", "coordinates": [139.7536, 35.6938]},
        "height_m": 12}


def event_settings(settings: Settings, **extra) -> Settings:
    """The test database's settings with loopback webhooks allowed and quick retries and leases."""
    return msgspec.structs.replace(settings, webhook_allow_networks=("127.0.0.0/8",), webhook_retry_base_s=0.2,
                                   worker_lease_s=1.0, **extra)


class Receiver:
    """A webhook receiver: records every request; `mode` 'up' answers 204, 'down' 503, 'hang' never answers."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], str, float, str]] = []
        self.mode = "up"
        self.got_one = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"])).decode()
                outer.requests.append(({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic(),
                                       outer.mode))
                outer.got_one.set()
                if outer.mode == "hang":
                    time.sleep(30)
                    return
                self.send_response(204 if outer.mode == "up" else 503)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> list[tuple[dict[str, str], str]]:
        """Requests answered 204, de-duplicated by webhook-id as a receiver does, in arrival order."""
        seen: dict[str, tuple[dict[str, str], str]] = {}
        for headers, body, _, mode in self.requests:
            if mode == "up":
                seen.setdefault(headers["webhook-id"], (headers, body))
        return list(seen.values())

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.accepted()]

    async def wait_for(self, done, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        # The receiver runs in threads; polling its list is simpler than handing events across loops.
        while not done() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def worker(settings: Settings) -> AsyncIterator[None]:
    task = asyncio.create_task(run(settings, concurrency=4, sweep_s=0.3, signals=False))
    await asyncio.sleep(0.5)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[AsyncTestClient]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def make_asset(client: AsyncTestClient, headers: dict, source_id: str, **extra) -> str:
    r = await client.post("/v1/assets", json={**POLE, "source_id": source_id, **extra}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def apply(client: AsyncTestClient, headers: dict, *asset_ids: str) -> dict:
    r = await client.post("/v1/applications", json={"asset_ids": list(asset_ids), "purpose": "5G small cell",
                                                    "starts_on": "2027-04-01"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def act(client: AsyncTestClient, headers: dict, application_id: str, action: str, **extra):
    return await client.post(f"/v1/applications/{application_id}/actions", json={"action": action, **extra},
                             headers=headers)
