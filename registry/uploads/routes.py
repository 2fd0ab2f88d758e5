"""HTTP routes of this domain."""

route_handlers: list = []
