"""The pure parts of the replica routing (registry/db/replicas.py, registry/ratelimit.py), without a database."""

from __future__ import annotations

import pytest

from registry.db.replicas import LagClock, format_lsn, is_read_route, parse_lsn
from registry.ratelimit import LocalCounts


def test_positions_read_as_postgresql_writes_them() -> None:
    # pg_lsn is two 32-bit halves in hex: 16/B374D848 = 0x16 * 2**32 + 0xB374D848.
    assert parse_lsn("16/B374D848") == 0x16 * 2**32 + 0xB374D848
    assert parse_lsn("0/0") == 0
    for lsn in (0, 1, 2**32 - 1, 2**32, 0x16B374D848, 2**64 - 1):
        assert parse_lsn(format_lsn(lsn)) == lsn
    # Compared as numbers, not as text: "0/A" sorts after "0/10" as text, but 0xA = 10 < 0x10 = 16.
    assert parse_lsn("0/A") < parse_lsn("0/10")
    assert parse_lsn("1/0") > parse_lsn("0/FFFFFFFF")
    for bad in ("", "16", "16/", "/1", "x/1", "1/2/3", "123456789/0", "yesterday"):
        with pytest.raises(ValueError):
            parse_lsn(bad)


def test_lag_is_the_age_of_the_oldest_position_not_replayed() -> None:
    clock = LagClock(keep_s=60)
    for second, lsn in ((0.0, 100), (1.0, 200), (2.0, 300), (3.0, 300)):  # idle from 2 s on
        clock.sample(second, lsn)
    assert clock.lag(3.0, 300) == 0.0      # replayed everything: no lag however idle the primary is
    assert clock.lag(3.0, 250) == 3.0 - 2.0  # the primary stood at 300 (not yet replayed) 1 s ago
    assert clock.lag(3.0, 150) == 3.0 - 1.0
    assert clock.lag(3.0, 0) == 3.0 - 0.0
    clock.sample(100.0, 400)                 # samples older than keep_s go, the newest stays
    assert [lsn for _, lsn in clock.samples] == [400]
    assert clock.lag(100.5, 300) == 0.5


def test_only_reads_are_routed() -> None:
    reads = [("GET", "/v1/assets"), ("HEAD", "/v1/assets"), ("POST", "/v1/assets/search"),
             ("GET", "/v1/assets/export"), ("GET", "/v1/assets/changes"), ("GET", "/v1/stats/assets"),
             ("GET", "/v1/tiles/assets/12/3638/1613.mvt"), ("GET", "/v1/priority-areas/coverage"),
             ("GET", "/ogc/collections/assets/items"), ("GET", "/ogc/collections/assets/items/abc"),
             ("GET", "/ogc/collections/assets/tiles/WebMercatorQuad/12/1613/3638")]
    writes_or_primary = [("POST", "/v1/assets"), ("PATCH", "/v1/assets/abc"), ("GET", "/v1/assets/abc"),
                         ("GET", "/v1/assets/abc/history"), ("GET", "/v1/keys"), ("GET", "/v1/assets/changes/x"),
                         ("DELETE", "/v1/assets/changes"), ("GET", "/v1/applications"), ("GET", "/v1/session")]
    assert all(is_read_route(m, p) for m, p in reads)
    assert not any(is_read_route(m, p) for m, p in writes_or_primary)


def test_local_counts_restart_with_each_window() -> None:
    counts = LocalCounts()
    assert counts.count("k", 60, 120.0) == (1, 60)
    assert counts.count("k", 60, 130.5) == (2, 50)
    assert counts.count("other", 60, 131.0) == (1, 49)
    assert counts.count("k", 60, 180.0) == (1, 60)   # a new window
