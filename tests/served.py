"""A real `registry serve` process on a free loopback port, against a test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from registry.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(settings: Settings, workers: int = 1, **env: str) -> Iterator[str]:
    """The base URL of a server on `settings`' database, stopped on exit; `env` adds KYODO_* settings."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": settings.database_url, **env}
    environment.pop("API_DATABASE_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "registry.cli", "serve", "--port", str(port), "--workers", str(workers)],
        env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start:\n" + (server.stderr.read().decode()
                                                                    if server.stderr else ""))
            time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
