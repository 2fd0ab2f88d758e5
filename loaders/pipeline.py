"""The batch pipeline of an asset load: each batch checked in a thread while the writers merge the ones before."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence

from loaders.merge import Tally, Writer
from loaders.progress import Progress
from loaders.validate import Prepared


async def run_batches(writers: Sequence[Writer], batches: Iterator[Prepared], total: int, *, dry_run: bool,
                      progress: Progress) -> Tally:
    """Check each batch in a thread while the writers merge the ones before, each writer one batch at a
    time, so the file's checks and the merges overlap instead of adding up. Once a row is rejected only
    the checks go on (the load will not be stored), to report every rejected row; a dry run merges all."""
    tally = Tally()
    idle: asyncio.Queue[Writer] = asyncio.Queue()
    for w in writers:
        idle.put_nowait(w)
    running: set[asyncio.Task[None]] = set()

    async def write(w: Writer, batch: Prepared, staged: asyncio.Event) -> None:
        try:
            await w.write(batch, tally, staged)
        finally:
            staged.set()
            idle.put_nowait(w)

    def raise_failures() -> None:
        for task in [t for t in running if t.done()]:
            running.discard(task)
            task.result()

    checking = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
    try:
        while (batch := await checking) is not None:
            tally.add(batch)
            staged: list[asyncio.Event] = []
            if batch.accepted and (dry_run or not tally.rejected_rows):
                # The last batches are shared out between the writers, so that they end together: whole, the
                # last one ran alone on one core for 2.9 s of a 25 s million-point load while the other writer had
                # nothing left. Every batch in pieces ended them together too, but a statement per 25,000 rows
                # cost the backends 3 s more over the million (bench/README.md). Two pieces a writer: with one, the
                # writers of a million-point load still ended 0.47 s apart; with two, 0.26-0.37 s.
                last = total - tally.rows < len(writers) * batch.rows
                for piece in batch.pieces(2 * len(writers)) if last and len(writers) > 1 else [batch]:
                    writer = await idle.get()
                    raise_failures()
                    staged.append(asyncio.Event())
                    running.add(asyncio.create_task(write(writer, piece, staged[-1])))
            # The next batch is checked once this one is staged: the checks hold the interpreter lock, so a COPY
            # beside them took 0.3-0.65 s instead of 0.08 s while its backend waited (both writers' at once, at
            # times), and checking first or after makes no difference to the writers, which merge for longer.
            for event in staged:
                await event.wait()
            checking = asyncio.ensure_future(asyncio.to_thread(next, batches, None))
            progress.update(tally.rows, total)
        await asyncio.gather(*running)
    finally:
        # After a failed merge: let the other writers and the running check finish before their
        # connections are rolled back.
        await asyncio.gather(checking, *running, return_exceptions=True)
    return tally
