"""A round's pools and savings, computed once per version of the round's data and kept per process.

At national scale (34,820 needs) pooling and the savings report cost 0.8-1.9 s of database and Python
time per request, for figures that change only when a need, a tender, its membership or the catalogue
changes. Triggers count those changes (sql/065: `app.procurement_pool_version`), so a request reads
one small value and reuses what an earlier request of the same version computed:

- the pools (quantities of every participant), shared by every caller who may see the round;
- per visibility scope (role, tenant, prefecture: exactly what row security reads), the baselines the
  scope may see, its savings rows and its aggregate.

The version is read before anything it guards, in the request's transaction: a write that commits in
between can only make the cached figures newer than their version, never older, and the next version
replaces them. Concurrent requests for the same entry wait for the one computing it. Entries are few
(LRU, `KEPT` per kind): a national round's pools take about 10 MB.

The JSON answers made of them (aggregate, savings, what-if) are kept too, encoded and compressed once
(`Encoded`): compressing the national aggregate (477 KB) cost 71 ms of CPU per request at Litestar's gzip
level 9 and 15 ms in brotli, against 4 ms for the rest of the request (bench/PROCUREMENT.md, issue 13).
"""

from __future__ import annotations

import asyncio
import copy
import gzip
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import brotli
from litestar.serialization import encode_json

from registry.etags import content_tag
from registry.principal import Principal
from registry.procurement import queries, views
from registry.procurement.demand import RoundPools
from registry.procurement.models import Aggregate, Round
from registry.procurement.savings import Baseline, Headline, SavingsRow, headline, report

KEPT = 4
T = TypeVar("T")


class _Lru:
    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[tuple, Any] = OrderedDict()
        self.locks: dict[tuple, asyncio.Lock] = {}

    async def get(self, key: tuple, compute: Callable[[], Awaitable[T]]) -> T:
        if key in self.items:
            self.items.move_to_end(key)
            return self.items[key]
        lock = self.locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if key in self.items:
                    return self.items[key]
                value = await compute()
                self.items[key] = value
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
                return value
        finally:
            if not lock.locked():
                self.locks.pop(key, None)


_pools = _Lru(KEPT)
_scoped = _Lru(KEPT * 8)
_answers = _Lru(KEPT * 8)  # at most ~1.5 MB each with their compressed forms: a national savings report
# As the app's CompressionConfig (registry/app.py): brotli quality 5 in text mode, gzip level 9; below 1 KB
# nothing is compressed. gzip's mtime is 0, so every worker makes the same bytes and the same ETag.
MINIMUM_SIZE = 1024


class Encoded:
    """An answer's JSON, and its brotli and gzip forms made when first asked for, each with its ETag (a hash
    of the bytes sent, as registry/headers.EntityTagMiddleware tags any other answer)."""

    def __init__(self, body: bytes) -> None:
        self.forms: dict[str, tuple[bytes, str]] = {"identity": (body, content_tag(body))}

    def form(self, accept_encoding: str) -> tuple[str, bytes, str]:
        """(content coding, bytes, ETag) for an Accept-Encoding header, chosen as Litestar's compression
        middleware chooses (br, else gzip, else none)."""
        body = self.forms["identity"][0]
        coding = "identity"
        if len(body) >= MINIMUM_SIZE:
            coding = "br" if "br" in accept_encoding else "gzip" if "gzip" in accept_encoding else "identity"
        if coding not in self.forms:
            packed = (brotli.compress(body, mode=brotli.MODE_TEXT, quality=5, lgwin=22) if coding == "br"
                      else gzip.compress(body, compresslevel=9, mtime=0))
            self.forms[coding] = (packed, content_tag(packed))
        return coding, *self.forms[coding]


class Scoped:
    """What one visibility scope sees of one version of a round."""

    def __init__(self, baselines: dict[str, Baseline], rows: list[SavingsRow], aggregate: Aggregate) -> None:
        self.baselines = baselines
        self.rows = rows
        self.headline: Headline = headline(rows)
        self.aggregate = aggregate


def scope_of(principal: Principal) -> tuple[str, str, str | None]:
    return (principal.role, principal.tenant_code, principal.prefecture_code)


async def round_pools(db: asyncpg.Connection, r: Round) -> tuple[str, RoundPools]:
    """The round's pools at the version the caller's transaction sees, and that version."""
    version = await queries.pool_version(db, r.organiser_code, r.round_id)
    cached = await _pools.get((r.organiser_code, r.round_id, version), lambda: RoundPools.load(db, r))
    rp = copy.copy(cached)
    rp.round = r  # the round itself (title, phase) is always the caller's fresh read
    return version, rp


async def scoped(db: asyncpg.Connection, r: Round, principal: Principal) -> tuple[RoundPools, Scoped]:
    _, rp, seen = await versioned(db, r, principal)
    return rp, seen


async def versioned(db: asyncpg.Connection, r: Round, principal: Principal) -> tuple[tuple, RoundPools, Scoped]:
    """As `scoped`, with the key of what the caller sees (round, version, scope) for `answer`."""
    version, rp = await round_pools(db, r)

    async def compute() -> Scoped:
        baselines = await queries.visible_baselines(db, r.organiser_code, r.round_id)
        return Scoped(baselines, report(rp.inputs(), baselines), views.aggregate(rp, principal))

    key = (r.organiser_code, r.round_id, version, scope_of(principal))
    return key, rp, await _scoped.get(key, compute)


async def answer(key: tuple, make: Callable[[], Any], *, keep: bool = True) -> Encoded:
    """The answer `make` returns for `key` (a `versioned` key and what else the answer depends on), encoded
    as Litestar encodes a route's return value, kept with its compressed forms unless `keep` is false (the
    32 MB savings detail). An exception (a 409) is raised again each time, never kept."""

    async def compute() -> Encoded:
        return Encoded(encode_json(make()))

    return await _answers.get(key, compute) if keep else await compute()
