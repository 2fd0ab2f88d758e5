"""Driving the web map in a real browser: Playwright (Python) with Debian's Chromium (`bash run.sh test`
installs it; Playwright's own browser download needs a CDN that LGWAN and this project's CI cannot reach).

Every page opened here records each request it makes and each console message, so a test can say that the
page loaded nothing from another origin and logged no error.
"""

from __future__ import annotations

import asyncio
import base64
import shutil
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# WebGL without a GPU: ANGLE over SwiftShader, Chromium's software renderer.
ARGS = ["--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--no-sandbox"]
VIEWPORT = {"width": 1366, "height": 768}


@dataclass
class Watched:
    page: object
    base: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        own = urlsplit(self.base).netloc
        return [u for u in self.requests
                if not (urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc == own)
                and not u.startswith(("data:", "blob:" + self.base))]


@asynccontextmanager
async def browser_page(base: str) -> AsyncIterator[Watched]:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            context = await browser.new_context(viewport=VIEWPORT, locale="ja-JP")
            page = await context.new_page()
            watched = Watched(page, base)
            page.on("request", lambda r: watched.requests.append(r.url))
            page.on("console", lambda m: watched.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: watched.errors.append(str(e)))
            yield watched
        finally:
            await browser.close()


async def sign_in(w: Watched, key: str) -> None:
    page = w.page
    await page.goto(w.base + "/")
    await page.fill("#key", key)
    await page.click("#signin button[type=submit]")
    await page.wait_for_url("**/map")
    await page.wait_for_selector("body[data-ready=true]", timeout=60_000)


async def wait_until(w: Watched, expression: str, timeout_s: float = 60) -> None:
    """Poll a JavaScript expression until it is true. Playwright's wait_for_function compiles its predicate
    with eval, which the page's CSP (script-src 'self', no 'unsafe-eval') rightly refuses."""
    deadline = time.monotonic() + timeout_s
    while not await w.page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout_s} s: {expression}")
        await asyncio.sleep(0.1)


async def wait_idle(w: Watched) -> None:
    """Until MapLibre has loaded every tile in view and drawn them."""
    await wait_until(w, "!!(window.kyodoMap && window.kyodoMap.loaded() && !window.kyodoMap.isMoving())")
    await w.page.evaluate("new Promise(r => { const m = window.kyodoMap; if (m.areTilesLoaded()) r(); "
                          "else m.once('idle', r); })")


async def rendered_ids(w: Watched, layer: str, prop: str = "asset_id") -> set[str]:
    ids = await w.page.evaluate(
        "([layer, prop]) => window.kyodoMap.queryRenderedFeatures({layers: [layer]}).map(f => f.properties[prop])",
        [layer, prop])
    return set(ids)


async def distinct_colours(w: Watched) -> int:
    """Distinct colours in a screenshot of the map, decoded by the browser (no image library needed here)."""
    png = await w.page.locator("#map canvas").screenshot()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    return await w.page.evaluate("""async (url) => {
        const img = new Image(); img.src = url; await img.decode();
        const c = document.createElement('canvas'); c.width = img.width; c.height = img.height;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data; const seen = new Set();
        for (let i = 0; i < d.length; i += 16) seen.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return seen.size; }""", url)
