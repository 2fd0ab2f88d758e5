"""Where each table goes on a Citus cluster (issue 17, docs/scaling.md "The plan"): the one home of the plan.

Nothing here runs on a single server; tests/test_citus_ready.py holds the schema to it (every table placed
once, a distributed table's keys and foreign keys carry the distribution column, no transition tables where
Citus refuses them), and `citus_script()` prints the calls a cluster's first migration would make.
"""

from __future__ import annotations

DISTRIBUTION_COLUMN = "municipality_code"
DISTRIBUTION_TYPE = "lgcode"
"""Tables colocate only when their distribution columns have one type: `char(6)` and the `lgcode` domain
over it are two types to Citus (the spike could not colocate `api_keys.tenant_code`, text, with `lgcode`)."""

DISTRIBUTED: tuple[str, ...] = (
    # Parents before children: create_distributed_table needs the referenced table distributed first.
    "assets", "asset_audit", "asset_changes", "asset_count_log", "area_coverage_log",
    "applications", "application_assets", "application_events", "application_deadline_rules",
    "municipality_settings",
    "procurement_needs", "procurement_need_versions", "procurement_tender_needs", "procurement_contracts",
)
"""Distributed by municipality code, 1,741 values, so shards stay even; each answers its own rows (every
policy reads only its own row, sql/170)."""

REFERENCE: tuple[str, ...] = (
    "prefectures", "municipalities", "municipality_boundaries", "priority_areas", "carriers", "suppliers",
    "api_keys", "procurement_categories", "procurement_rounds", "round_notices", "procurement_tenders",
    "procurement_lots", "procurement_tender_notices", "procurement_tender_questions", "procurement_bids",
    "procurement_lot_awards", "procurement_pool_versions",
)
"""Small, read on every node, written rarely (a write is a two-phase commit to every node): a round or a
tender changes a few times a month; 1,912 municipalities; keys change when staff do."""

COORDINATOR: tuple[str, ...] = (
    "asset_tile_cells", "event_outbox", "webhook_subscriptions", "webhook_deliveries", "mail_contacts",
    "mail_deliveries", "idempotency_keys", "web_sessions", "schema_migrations", "app.key_writes",
    "app.rate_counters", "loader.decisions", "loader.deferred_indexes", "procrastinate.procrastinate_jobs",
    "procrastinate.procrastinate_events", "procrastinate.procrastinate_periodic_defers",
    "procrastinate.procrastinate_workers",
)
"""Citus local tables on the coordinator: written on every request or by the worker and read by key, or (the
tile cells) one row per cell shared by every municipality in it (municipality code '' for what every
reader sees), which no municipality's shard could hold. Transition tables are allowed on these."""

NOT_OURS: tuple[str, ...] = ("spatial_ref_sys",)
"""PostGIS's own table; the extension is created on every node."""


def placement(table: str) -> str | None:
    """'distributed', 'reference', 'coordinator' or None for a table the plan does not place."""
    for kind, tables in (("distributed", DISTRIBUTED), ("reference", REFERENCE), ("coordinator", COORDINATOR),
                         ("not ours", NOT_OURS)):
        if table in tables:
            return kind
    return None


def citus_script() -> str:
    """The calls that turn a migrated single-server schema into the plan, in order (references first, as
    the distributed tables' foreign keys point at them)."""
    lines = [f"select create_reference_table('{t}');" for t in REFERENCE]
    lines += [f"select create_distributed_table('{DISTRIBUTED[0]}', '{DISTRIBUTION_COLUMN}');"]
    lines += [f"select create_distributed_table('{t}', '{DISTRIBUTION_COLUMN}', colocate_with => '{DISTRIBUTED[0]}');"
              for t in DISTRIBUTED[1:]]
    lines += [f"select citus_add_local_table_to_metadata('{t}');" for t in COORDINATOR]
    return "\n".join(lines) + "\n"
