"""The `registry` command: db, migrate, serve, keys, carriers, openapi, demo, load."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import asyncpg

from registry.db.admin import admin_session
from registry.paths import PROJECT_ROOT
from registry.settings import Settings

OPENAPI_PATH = PROJECT_ROOT / "openapi" / "openapi.json"


def _fail(message: str) -> int:
    print(f"registry: {message}", file=sys.stderr)
    return 1


def ensure_database() -> Settings:
    """Settings for DATABASE_URL, or for the embedded cluster, started if it is not running."""
    if not os.environ.get("DATABASE_URL"):
        from registry.cluster import Cluster

        cluster = Cluster.default()
        if not cluster.is_running():
            print(f"registry: starting the embedded database ({cluster.up()})", file=sys.stderr)
    return Settings.from_env()


async def _recover_loads(settings: Settings) -> list[str]:
    from loaders.parallel import recover

    conn = await asyncpg.connect(settings.api_database_url)
    try:
        return await recover(conn)
    finally:
        await conn.close()


def cmd_db(args: argparse.Namespace) -> int:
    from registry.cluster import Cluster, ClusterError
    from registry.db.distribution import citus_script

    if args.action == "citus":
        print(citus_script(), end="")
        return 0
    if os.environ.get("DATABASE_URL") and args.action != "url":
        return _fail("DATABASE_URL is set, so the embedded database is not used; unset it to manage it")
    cluster = Cluster.default()
    try:
        if args.action == "up":
            print(cluster.up(replicas=args.replicas))
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
        applied = await migrate(conn, api_password=os.environ.get("KYODO_API_PASSWORD"),
                                owner_password=os.environ.get("KYODO_OWNER_PASSWORD"))
        prefs, munis = await load_reference(conn)
        print(f"reference data: {prefs} prefectures, {munis} municipalities and wards")
        return applied
    finally:
        await conn.close()


def cmd_migrate(args: argparse.Namespace) -> int:
    from registry.cluster import ClusterError
    from registry.db.migrate import MigrationError

    try:
        settings = ensure_database()
        applied = asyncio.run(_migrate(settings))
    except (ClusterError, MigrationError) as exc:
        return _fail(str(exc))
    print("applied: " + ", ".join(applied) if applied else "schema up to date")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from registry.serving import run
    from registry.settings import serve_address

    try:
        host, port = serve_address()
    except ValueError as exc:
        return _fail(str(exc))
    settings = ensure_database()
    run(args.server, args.host or host, args.port or port, args.workers, access_log=settings.access_log)
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from registry.auth import queries
    from registry.problems import Problem

    settings = ensure_database()
    try:
        if args.action == "create":
            created = asyncio.run(admin_session(
                settings, lambda db: queries.create_key(db, args.role, args.tenant, args.name, args.lang)))
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


def _load_assets(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.assets import load_assets, write_report
    from loaders.formats import LoadError
    from loaders.mapping import parse_pairs, read_mapping_file
    from loaders.parallel import admin_connections
    from loaders.progress import Progress
    from registry.codes import CodeError, normalise

    try:
        tenant = normalise(args.tenant, allow_five=True)
        columns: dict[str, list[str]] = {}
        defaults: dict[str, str] = {}
        if args.mapping:
            columns, defaults = read_mapping_file(Path(args.mapping))
        columns.update({k: [c.strip() for c in v.split("+")] for k, v in parse_pairs(args.map, "--map").items()})
        defaults.update(parse_pairs(args.default, "--default"))
        if args.workers < 1:
            return _fail("--workers must be 1 or more")
        progress = Progress(enabled=not args.quiet)
        for line in asyncio.run(_recover_loads(settings)):
            print(f"note: {line}", file=sys.stderr)
        report = asyncio.run(admin_session(settings, lambda db: load_assets(
            db, Path(args.file), tenant=tenant, dry_run=args.dry_run, fmt=args.format, layer=args.layer,
            source_crs=args.source_crs, columns=columns, defaults=defaults, progress=progress,
            parallel=admin_connections(settings, args.workers), sheet=args.sheet, publish=args.publish)))
    except (LoadError, CodeError) as exc:
        return _fail(str(exc))
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if args.report:
        write_report(report, Path(args.report))
        print(f"report: {args.report} ({len(report.issues):,} lines)", file=sys.stderr)
    shown = [i for i in report.issues if i.severity == "rejected"][:20] or report.issues[:10]
    for issue in shown:
        print(f"  row {issue.row} ({issue.source_id or 'no id'}): {issue.severity}: {issue.reason}", file=sys.stderr)
    if len(report.issues) > len(shown) and not args.report:
        print(f"  ... {len(report.issues) - len(shown):,} more; write them all with --report FILE.csv",
              file=sys.stderr)
    print(report.summary())
    return 2 if report.rejected else 0


def _load_boundaries(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.boundaries import load_boundaries
    from loaders.formats import LoadError

    async def run() -> str:
        conn = await asyncpg.connect(settings.database_url)
        try:
            return (await load_boundaries(conn, Path(args.file), args.source)).summary()
        finally:
            await conn.close()

    try:
        print(asyncio.run(run()))
    except LoadError as exc:
        return _fail(str(exc))
    return 0


def _load_priority_areas(args: argparse.Namespace, settings: Settings) -> int:
    from loaders.formats import LoadError
    from loaders.priority_areas import load_priority_areas
    from registry.codes import CodeError, prefecture_number, with_check_digit

    try:
        prefecture = with_check_digit(prefecture_number(args.prefecture) + "000")
        report = asyncio.run(admin_session(settings, lambda db: load_priority_areas(
            db, Path(args.file), prefecture, args.kind, args.dry_run)))
    except (LoadError, CodeError) as exc:
        return _fail(str(exc))
    for feature, reason in report.rejected:
        print(f"  feature {feature}: rejected: {reason}", file=sys.stderr)
    if report.rejected:
        return _fail(f"{len(report.rejected)} of {report.features} features rejected; nothing was written")
    print(report.summary() + (" (dry run: nothing written)" if args.dry_run else ""))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    settings = ensure_database()
    if args.what == "assets":
        return _load_assets(args, settings)
    if args.what == "boundaries":
        return _load_boundaries(args, settings)
    return _load_priority_areas(args, settings)


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from registry.events.worker import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = ensure_database()
    print(f"registry: worker started ({args.concurrency} jobs at once); Ctrl-C stops", file=sys.stderr)
    asyncio.run(run(settings, concurrency=args.concurrency, sweep_s=args.sweep))
    return 0


def add_worker_parser(sub: Any) -> None:
    worker = sub.add_parser("worker", help="deliver events (webhooks, mail) and run reminders and deadline checks")
    worker.add_argument("--concurrency", type=int, default=8, help="jobs at once (default 8)")
    worker.add_argument("--sweep", type=float, default=2.0, metavar="SECONDS",
                        help="look for due retries this often without a notification (default 2)")
    worker.set_defaults(func=cmd_worker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="registry", description="Kyodo Registry: shared assets and joint "
                                     "procurement for Japanese municipalities")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the embedded PostgreSQL + PostGIS cluster")
    db.add_argument("action", choices=["up", "down", "status", "url", "citus"],
                    help="citus: print the calls that place each table on a Citus cluster (docs/scaling.md)")
    db.add_argument("--replicas", type=int, default=0, metavar="N",
                    help="with up: also start N streaming standbys (.kyodo/replicaN, ports after the primary's)")
    db.set_defaults(func=cmd_db)

    mig = sub.add_parser("migrate", help="apply sql/ migrations and refresh reference data")
    mig.set_defaults(func=cmd_migrate)

    serve = sub.add_parser("serve", help="run the HTTP API")
    serve.add_argument("--host", help="address to listen on (default: KYODO_HOST, else 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: KYODO_PORT, else 8000)")
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--server", choices=["granian", "uvicorn"], default=os.environ.get("KYODO_SERVER", "granian"),
                       help="HTTP server (default: KYODO_SERVER, else granian, the faster in bench/PEERS.md)")
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="API keys")
    keys_sub = keys.add_subparsers(dest="action", required=True)
    create = keys_sub.add_parser("create", help="create a key and print it once")
    create.add_argument("--role", required=True, choices=["municipality", "prefecture", "carrier", "supplier", "admin"])
    create.add_argument("--tenant", required=True, help="municipality/prefecture code, carrier code, or admin")
    create.add_argument("--name", required=True, help="who uses the key")
    create.add_argument("--lang", choices=["en", "ja"], help="language of the key's problem messages (default en)")
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

    load = sub.add_parser("load", help="load assets, municipal boundaries or priority areas from files")
    load_sub = load.add_subparsers(dest="what", required=True)
    la = load_sub.add_parser("assets", help="load a municipality's assets (GeoJSON, GeoPackage, zipped "
                             "Shapefile, CSV or Excel .xlsx with latitude/longitude); new ones as drafts")
    la.add_argument("file")
    la.add_argument("--tenant", required=True, help="the owning municipality's code, e.g. 131016")
    la.add_argument("--mapping", help="JSON file: {attribute: column} or {columns: {...}, defaults: {...}}")
    la.add_argument("--map", action="append", default=[], metavar="ATTR=COLUMN",
                    help="take an attribute from a column (join columns with +); repeatable")
    la.add_argument("--default", action="append", default=[], metavar="ATTR=VALUE",
                    help="a constant for an attribute the file lacks, e.g. category=streetlight; repeatable")
    la.add_argument("--dry-run", action="store_true", help="validate and report; write nothing")
    la.add_argument("--report", metavar="FILE.csv", help="write every rejected row and warning here")
    la.add_argument("--layer", help="the layer of a GeoPackage with several")
    la.add_argument("--sheet", help="the sheet of an Excel workbook (default: the first)")
    la.add_argument("--publish", action="store_true", help="publish the file's assets (new and existing) for "
                    "carriers to see; without it new assets are drafts and existing ones keep their status")
    la.add_argument("--source-crs", type=int, metavar="EPSG", help="coordinate system of a file that declares "
                    "none (or declares a wrong one), e.g. 6677; CSV coordinates default to 4326")
    la.add_argument("--format", choices=["geojson", "gpkg", "shapefile", "csv", "xlsx"],
                    help="instead of the file name")
    la.add_argument("--quiet", action="store_true", help="no progress bar")
    la.add_argument("--workers", type=int, default=2, metavar="N",
                    help="connections that merge a file of more than 100,000 rows at once, committed together "
                         "by two-phase commit (default 2; 1 merges on one connection)")
    lb = load_sub.add_parser("boundaries", help="municipal boundaries from 国土数値情報 N03 GeoJSON")
    lb.add_argument("file")
    lb.add_argument("--source", help="provenance stored with each boundary")
    lp = load_sub.add_parser("priority-areas", help="5G priority areas (GeoJSON polygons) of a prefecture")
    lp.add_argument("file")
    lp.add_argument("--prefecture", required=True, help="prefecture number (13) or code (130001)")
    lp.add_argument("--kind", choices=["commercial_district", "major_station", "municipal_office",
                                       "disaster_hospital", "temporary_stay", "evacuation_park", "walk_home_road"],
                    help="kind for features without a `kind` property")
    lp.add_argument("--dry-run", action="store_true")
    load.set_defaults(func=cmd_load)

    demo = sub.add_parser("demo", help="load the national demo data and print sample keys")
    demo.add_argument("--scale", type=float, default=1.0, help="fraction of the national asset counts")
    demo.set_defaults(func=cmd_demo)
    add_worker_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
