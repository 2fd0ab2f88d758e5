"""Joint procurement: every route, from one module per sub-resource.

`routes_catalogue` (item categories), `routes_rounds` (rounds and needs), `routes_tenders` (tenders,
awards, contracts), `routes_reports` (pooled demand, savings, what-if, OCDS) and `routes_bids` (notices,
questions, sealed bids, their opening, evaluation and the award from bids), `export_routes` (needs and
savings as CSV or XLSX).
"""

from __future__ import annotations

from registry.procurement import (
    export_routes,
    routes_bids,
    routes_catalogue,
    routes_reports,
    routes_rounds,
    routes_tenders,
)

route_handlers: list = [
    *routes_catalogue.route_handlers,
    *routes_rounds.route_handlers,
    *routes_reports.route_handlers,
    *routes_tenders.route_handlers,
    *routes_bids.route_handlers,
    *export_routes.route_handlers,
]
