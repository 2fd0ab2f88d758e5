"""Running the API under Granian (the default) or uvicorn, for `registry serve` (issue 13: bench/PEERS.md)."""

from __future__ import annotations

import os
from typing import Any


def served_app() -> Any:
    """The application as `registry serve --server granian` runs it: X-Forwarded-For and -Proto trusted from
    the loopback only (a reverse proxy on the same host), as uvicorn's proxy_headers does by default; and an
    empty Server header, since Granian writes `server: granian` on every answer unless the application sends
    its own (it has no switch to leave it out, emmett-framework/granian#594), where uvicorn sent none."""
    from granian.utils.proxies import wrap_asgi_with_proxy_headers

    from registry.app import create_app

    app = create_app()

    async def unnamed(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return

        async def blank_server(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"server", b"")]
            await send(message)

        await app(scope, receive, blank_server)

    return wrap_asgi_with_proxy_headers(unnamed, trusted_hosts=os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"))


def run(server: str, host: str, port: int, workers: int, *, access_log: bool) -> None:
    if server == "granian":
        # Granian (Rust HTTP/1.1 on an uvloop worker): on the bbox search 0.9-1.9x uvicorn with uvloop and
        # httptools side by side on a busy machine (load 7-18; 12 of 13 pairs faster), equal at load 3-8; 1 ms CPU
        # per request in both (bench/PEERS.md, issue 13).
        from granian import Granian
        from granian.constants import HTTPModes, Interfaces, Loops

        Granian("registry.serving:served_app", address=host, port=port, interface=Interfaces.ASGI, factory=True,
                workers=workers, loop=Loops.uvloop, http=HTTPModes.http1, websockets=False,
                log_access=access_log).serve()
        return
    import uvicorn

    # uvloop and httptools instead of asyncio's loop and h11, and no access log unless KYODO_ACCESS_LOG=1:
    # 198 -> 255 req/s on the bbox search in the issue 13 benchmark.
    uvicorn.run("registry.app:create_app", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", access_log=access_log,
                log_level="info", proxy_headers=True, server_header=False)


