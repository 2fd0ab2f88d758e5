"""The codebase's own rules, checked on the code itself (issue 9).

Route modules are listed from the application, not by file name: every module that holds a route
handler of `create_app()` is a route module, so a new domain is covered the day it is wired in.
"""

from __future__ import annotations

import ast
import inspect
import sys
from pathlib import Path

from registry.app import create_app
from registry.paths import PROJECT_ROOT
from registry.settings import Settings

CONNECTION_CALLS = {"fetch", "fetchrow", "fetchval", "execute", "executemany", "copy_records_to_table", "cursor"}
MAX_LINES = 400


def _route_modules() -> set[Path]:
    app = create_app(Settings(database_url="postgresql:///unused", api_database_url="postgresql:///unused"))
    modules = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            fn = getattr(handler, "fn", None)
            module = sys.modules.get(getattr(fn, "__module__", ""))
            if module is not None and module.__name__.startswith("registry."):
                modules.add(Path(inspect.getfile(module)))
    return modules


def test_route_modules_are_found() -> None:
    names = {p.name for p in _route_modules()}
    # Every domain that serves HTTP is among them (an oracle written out by hand).
    for expected in ("health.py",):
        assert expected in names, names
    assert len(_route_modules()) >= 10, names


def test_no_route_touches_the_connection() -> None:
    offenders = []
    for path in sorted(_route_modules()):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in CONNECTION_CALLS:
                offenders.append(f"{path.relative_to(PROJECT_ROOT)}:{node.lineno} .{node.func.attr}(...)")
    assert not offenders, "routes call the connection; move the SQL into queries.py:\n" + "\n".join(offenders)


def test_no_module_over_400_lines() -> None:
    long = []
    for folder in ("registry", "loaders"):
        for path in sorted((PROJECT_ROOT / folder).rglob("*.py")):
            n = len(path.read_text(encoding="utf-8").splitlines())
            if n > MAX_LINES:
                long.append(f"{path.relative_to(PROJECT_ROOT)}: {n} lines")
    assert not long, f"modules over {MAX_LINES} lines; split them:\n" + "\n".join(long)
