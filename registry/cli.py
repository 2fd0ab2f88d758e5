"""The `registry` command: db, migrate, serve, keys, carriers, openapi, demo, load."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg

from registry.settings import PROJECT_ROOT, Settings

OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"


def _fail(message: str) -> int:
    print(f"registry: {message}", file=sys.stderr)
    return 1


def ensure_database() -> Settings:
    """Settings for DATABASE_URL, or for the embedded cluster, started if it is not running."""
    if not os.environ.get("DATABASE_URL"):
        from registry.db.cluster import Cluster

        cluster = Cluster.default()
        if not cluster.is_running():
            print(f"registry: starting the embedded database ({cluster.up()})", file=sys.stderr)
    return Settings.from_env()


async def admin_session(settings: Settings, work: Callable[[asyncpg.Connection], Awaitable[Any]]) -> Any:
    """Run `work` as the API role with an admin principal: the same policies an admin key meets."""
    from registry.auth.principal import Principal
    from registry.db.pool import set_principal

    conn = await asyncpg.connect(settings.api_database_url)
    try:
        async with conn.transaction():
            await set_principal(conn, Principal("cli", "admin", "admin", None, "registry command"))
            return await work(conn)
    finally:
        await conn.close()


def cmd_db(args: argparse.Namespace) -> int:
    from registry.db.cluster import Cluster, ClusterError

    if os.environ.get("DATABASE_URL") and args.action != "url":
        return _fail("DATABASE_URL is set, so the embedded database is not used; unset it to manage it")
    cluster = Cluster.default()
    try:
        if args.action == "up":
            print(cluster.up())
        elif args.action == "down":
            print(cluster.down())
        elif args.action == "status":
            print(cluster.status())
            return 0 if cluster.is_running() else 3
        elif args.action == "url":
            print(os.environ.get("DATABASE_URL") or cluster.url())
    except ClusterError as exc:
        return _fail(str(exc))
    return 0


async def _migrate(settings: Settings) -> list[str]:
    from registry.db.migrate import migrate
    from registry.tenants.reference import load_reference

    conn = await asyncpg.connect(settings.database_url)
    try:
        applied = await migrate(conn, api_password=os.environ.get("KYODO_API_PASSWORD"))
        prefs, munis = await load_reference(conn)
        print(f"reference data: {prefs} prefectures, {munis} municipalities and wards")
        return applied
    finally:
        await conn.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    from registry.db.cluster import ClusterError
    from registry.db.migrate import MigrationError

    try:
        settings = ensure_database()
        applied = asyncio.run(_migrate(settings))
    except (ClusterError, MigrationError) as exc:
        return _fail(str(exc))
    print("applied: " + ", ".join(applied) if applied else "schema up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    ensure_database()
    uvicorn.run("registry.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
                log_level="info", proxy_headers=True)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from registry.auth import queries
    from registry.problems import Problem

    settings = ensure_database()
    try:
        if args.action == "create":
            created = asyncio.run(admin_session(
                settings, lambda db: queries.create_key(db, args.role, args.tenant, args.name)))
            print(created.key)
            print(f"# {created.info.role} key for {created.info.tenant_code} ({created.info.name}), "
                  f"id {created.info.key_id}; shown once, only its hash is stored", file=sys.stderr)
        elif args.action == "list":
            rows = asyncio.run(admin_session(settings, lambda db: queries.list_keys(db, args.tenant, None, 10_000)))
            for k in rows:
                state = f"revoked {k.revoked_at:%Y-%m-%d}" if k.revoked_at else "active"
                print(f"{k.key_id}  {k.role:<12} {k.tenant_code:<8} {state:<18} {k.name}")
        elif args.action == "revoke":
            k = asyncio.run(admin_session(settings, lambda db: queries.revoke_key(db, args.key_id)))
            print(f"revoked {k.key_id} ({k.role} {k.tenant_code})")
    except Problem as exc:
        return _fail(exc.detail)
    return 0


def cmd_carriers(args: argparse.Namespace) -> int:
    from registry.tenants import queries
    from registry.tenants.models import Carrier

    settings = ensure_database()
    carrier = Carrier(args.code, args.name, args.name_en, args.email)
    try:
        asyncio.run(admin_session(settings, lambda db: queries.insert_carrier(db, carrier)))
    except asyncpg.UniqueViolationError:
        return _fail(f"carrier {args.code!r} exists already")
    except asyncpg.CheckViolationError:
        return _fail("a carrier code is 2-32 lower-case letters, digits or hyphens, e.g. docomo")
    print(f"carrier {args.code} registered")
    return 0


def openapi_document() -> dict[str, Any]:
    from registry.app import create_app

    app = create_app(Settings(database_url="postgresql://unused", api_database_url="postgresql://unused"))
    return app.openapi_schema.to_schema()


def render_openapi() -> str:
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def cmd_openapi(args: argparse.Namespace) -> int:
    text = render_openapi()
    target = Path(args.output)
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            return _fail(f"{target} is out of date; run `registry openapi`")
        print(f"{target} is up to date")
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from loaders.demo import run_demo

    settings = ensure_database()
    return asyncio.run(run_demo(settings, scale=args.scale))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="Kyodo Registry: shared assets and joint "
                                     "procurement for Japanese municipalities")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded PostgreSQL + PostGIS cluster")
    db.add_argument("action", choices=["up", "down", "status", "url"])
    db.set_defaults(func=cmd_db)

    mig = sub.add_parser("migrate", help="apply sql/ migrations and refresh reference data")
    mig.set_defaults(func=cmd_migrate)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=["municipality", "prefecture", "carrier", "admin"])
    create.add_argument("--tenant", required=True, help="municipality/prefecture code, carrier code, or admin")
    create.add_argument("--name", required=True, help="who uses the key")
    lst = keys_sub.add_parser("list", help="list keys (never the keys themselves)")
    lst.add_argument("--tenant")
    rev = keys_sub.add_parser("revoke", help="revoke a key by its id")
    rev.add_argument("key_id")
    keys.set_defaults(func=cmd_keys)

    carriers = sub.add_parser("carriers", help="carrier organisations")
    carriers_sub = carriers.add_subparsers(dest="action", required=True)
    add = carriers_sub.add_parser("add", help="register a carrier organisation")
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--name-en")
    add.add_argument("--email")
    carriers.set_defaults(func=cmd_carriers)

    oa = sub.add_parser("openapi", help="write (or --check) the committed OpenAPI document")
    oa.add_argument("--output", default=str(OPENAPI_PATH))
    oa.add_argument("--check", action="store_true")
    oa.set_defaults(func=cmd_openapi)

    demo = sub.add_parser("demo", help="load the national demo data and print sample keys")
    demo.add_argument("--scale", type=float, default=1.0, help="fraction of the national asset counts")
    demo.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
