"""The OCDS package of a round as a stream: the same JSON as ocds.package, written a release at a time.

At national scale the package is 34,820 needs in 1,741 planning releases, about 20 MB; built whole it
held every need, every release dict and the encoded bytes at once. Here the needs come from a cursor
(stream_queries), one municipality's at a time, and each release is encoded and sent as it is made.
The first piece is made before the answer starts (`primed`), so a database that is down still
answers 503 problem+json rather than a cut-off 200.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import msgspec

from registry.principal import Principal
from registry.procurement import bid_queries, ocds, ocds_bids, queries, stream_queries, summary, views
from registry.procurement.models import Round

_ENCODER = msgspec.json.Encoder()
# Releases per piece sent: about 0.5 MB, so the socket is written in large pieces, not 1,741 small ones.
BATCH = 40


async def _pieces(pool: asyncpg.Pool, principal: Principal | None, r: Round, uri: str) -> AsyncIterator[bytes]:
    async with stream_queries.reading_as(pool, principal) as conn:
        _, rp = await summary.round_pools(conn, r)
        organiser = views.organiser_org(r.organiser_code, await queries.prefecture_name(conn, r.organiser_code))
        names = await queries.municipality_names(conn, sorted({line.municipality_code for line in rp.lines}))
        now = datetime.now(UTC)
        head = _ENCODER.encode(ocds.package([], uri, now, "Kyodo Registry"))
        # `{..., "releases":[]}`: everything up to the list's opening bracket, then the releases, then `]}`.
        yield head[:-2]
        first = True
        batch: list[bytes] = []
        async for own in stream_queries.needs_by_municipality(conn, r.organiser_code, r.round_id):
            batch.append(_ENCODER.encode(views.planning_release(rp, organiser, own, names)))
            if len(batch) >= BATCH:
                yield (b"" if first else b",") + b",".join(batch)
                first, batch = False, []
        lots = {t: await queries.lots_of(conn, r.organiser_code, t) for t in rp.tenders}
        contracts = await queries.list_contracts(conn, list(rp.tenders))
        # Bids show once opened, and only to whom row security shows them (the organiser, an admin).
        bids = ocds_bids.bid_facts(rp, await bid_queries.opened_bids(conn, list(rp.tenders)))
        winners = ocds_bids.winners(await bid_queries.lot_awards(conn, list(rp.tenders)))
        batch += [_ENCODER.encode(x) for x in views.contracting_releases(rp, organiser, names, lots, contracts, now,
                                                                         bids, winners)]
        if batch:
            yield (b"" if first else b",") + b",".join(batch)
        yield b"]}"


async def primed(pool: asyncpg.Pool, principal: Principal | None, r: Round, uri: str) -> AsyncIterator[bytes]:
    """The package's pieces, the first already made (errors before the answer starts become problems).

    A started async generator that is dropped unfinished is closed by the event loop's finaliser, which
    ends its transaction and returns its connection to the pool.
    """
    pieces = _pieces(pool, principal, r, uri)
    first = await anext(pieces)

    async def rest() -> AsyncIterator[bytes]:
        yield first
        async for piece in pieces:
            yield piece

    return rest()
