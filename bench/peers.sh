#!/usr/bin/env bash
# Kyodo's bbox search against tipg and against the same page as one plain query (pgbench), on the same
# assets, the same 1,000 one-kilometre boxes (bench/peers.py), in one run, two interleaved repetitions.
# Run by hand, never as a test:  bash bench/peers.sh 100000   (or 1000000; DURATION=20 by default;
# REUSE=1 keeps an already loaded database, LOAD_ONLY=1 stops after loading)
# Needs wrk (apt-get install wrk) and pgbench; installs tipg from PyPI into bench/.peers-venv (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
duration=${DURATION:-20}
file=bench/data/points_${n}.gpkg
[ -f "$file" ] || .venv/bin/python bench/make_points.py "$n"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

if [ ! -x bench/.peers-venv/bin/uvicorn ] || ! bench/.peers-venv/bin/python -c 'import tipg' 2>/dev/null; then
  python3 -m venv bench/.peers-venv
  bench/.peers-venv/bin/pip install -q "tipg>=0.7" uvicorn uvloop httptools
fi

base=$(.venv/bin/registry db url)
socket=$(sed -E 's/.*host=([^&]*).*/\1/' <<<"$base")
port=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$base")
db=kyodo_peers_${n}  # one database per size, so REUSE=1 keeps both
url="postgresql://postgres@/${db}?host=${socket}&port=${port}"
psql_db() { psql -X -q -v ON_ERROR_STOP=1 "host=$socket port=$port dbname=$1 user=postgres" "${@:2}"; }

if [ "${REUSE:-0}" != 1 ] || [ "$(psql_db "$db" -A -t -c 'select count(*) from assets' 2>/dev/null)" != "$n" ]; then
  psql_db postgres -c "drop database if exists $db with (force)" -c "create database $db"
  DATABASE_URL=$url .venv/bin/registry migrate >/dev/null
  DATABASE_URL=$url .venv/bin/registry load assets "$file" --tenant 131016 --quiet --publish  # carriers search them
  # tipg's collection: the same rows as a plain view (tipg reads as postgres, so no row security either).
  psql_db "$db" -c "create view peer_assets as
    select asset_id::text as id, municipality_code::text as municipality_code, source_id, category, name, address,
           height_m::float8 as height_m, power, fibre_distance_m::float8 as fibre_distance_m, availability,
           current_tenants, max_tenants, visibility, version, created_at, updated_at, geom
      from assets where status = 'published'" -c "cluster assets" -c "vacuum analyze assets"
  # cluster: the table rewritten in the order of its spatial index (sql/151), as an operator does after a large
  # load; tipg and pgbench read the same rewritten table.
fi
[ "${LOAD_ONLY:-0}" = 1 ] && { echo "loaded $db"; exit 0; }
key=$(DATABASE_URL=$url .venv/bin/registry carriers add --code peerbench --name "peer bench" >/dev/null 2>&1 || true
      DATABASE_URL=$url .venv/bin/registry keys create --role carrier --tenant peerbench --name peers 2>/dev/null)

work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
.venv/bin/python bench/peers.py wrk-kyodo >"$work/kyodo.lua"
.venv/bin/python bench/peers.py wrk-tipg >"$work/tipg.lua"
.venv/bin/python bench/peers.py pgbench >"$work/page.sql"

wait_for() { for _ in $(seq 1 120); do curl -sf -o /dev/null "$1" && return 0; sleep 0.5; done; echo "no answer at $1" >&2; exit 1; }

DATABASE_URL=$url KYODO_RATE_KEY_REQUESTS=100000000 .venv/bin/registry serve --port 8090 --workers 1 \
  --server granian >"$work/kyodo.log" 2>&1 &
# The same application under uvicorn (uvloop, httptools), the other server `registry serve` offers.
DATABASE_URL=$url KYODO_RATE_KEY_REQUESTS=100000000 .venv/bin/registry serve --port 8092 --workers 1 \
  --server uvicorn >"$work/kyodo-uvicorn.log" 2>&1 &
# tipg's settings want a host in the URL: the socket directory, percent-encoded (asyncpg decodes it).
tipg_host=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$socket")
DATABASE_URL="postgresql://postgres@${tipg_host}:${port}/${db}" TIPG_DB_SCHEMAS='["public"]' \
  TIPG_MAX_FEATURES_PER_QUERY=10000 bench/.peers-venv/bin/uvicorn tipg.main:app --port 8091 --workers 1 \
  --loop uvloop --http httptools --no-access-log >"$work/tipg.log" 2>&1 &
wait_for http://127.0.0.1:8090/readyz
wait_for http://127.0.0.1:8092/readyz
wait_for http://127.0.0.1:8091/collections/public.peer_assets
# Warm both (prepared statements, catalogues) and check both answer 100 features for the first box.
first=$(.venv/bin/python -c 'import sys; sys.path.insert(0, "bench"); import peers; print(",".join(map(str, peers.box(1))))')
curl -sf -H "Authorization: Bearer $key" "http://127.0.0.1:8090/v1/assets?limit=100&bbox=$first" \
  | .venv/bin/python -c 'import json,sys; print("kyodo first box:", len(json.load(sys.stdin)["features"]), "features")'
curl -sf "http://127.0.0.1:8091/collections/public.peer_assets/items?limit=100&bbox=$first" \
  | .venv/bin/python -c 'import json,sys; print("tipg first box:", len(json.load(sys.stdin)["features"]), "features")'

rate() { sed -nE 's/^Requests\/sec:[[:space:]]*([0-9.]+).*/\1/p' "$1"; }
results=$work/results
for rep in 1 2; do
  wrk -t1 -c16 -d"${duration}s" -s "$work/kyodo.lua" -H "Authorization: Bearer $key" http://127.0.0.1:8090 \
    >"$work/k$rep" 2>"$work/k$rep.err"
  echo "kyodo $rep $(rate "$work/k$rep")" | tee -a "$results"
  wrk -t1 -c16 -d"${duration}s" -s "$work/kyodo.lua" -H "Authorization: Bearer $key" http://127.0.0.1:8092 \
    >"$work/u$rep" 2>"$work/u$rep.err"
  echo "uvicorn $rep $(rate "$work/u$rep")" | tee -a "$results"
  wrk -t1 -c16 -d"${duration}s" -s "$work/tipg.lua" http://127.0.0.1:8091 >"$work/t$rep" 2>"$work/t$rep.err"
  echo "tipg $rep $(rate "$work/t$rep")" | tee -a "$results"
  # The plain query runs with the API's own session settings (registry/db/pool.py: no parallel workers).
  PGOPTIONS="-c max_parallel_workers_per_gather=0" pgbench -n -M prepared -c 16 -j 1 -T "$duration" -f "$work/page.sql" \
    "host=$socket port=$port dbname=$db user=postgres" >"$work/p$rep" 2>&1
  echo "plain $rep $(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$work/p$rep" | tail -1)" | tee -a "$results"
  grep -h "status" "$work/k$rep.err" "$work/u$rep.err" "$work/t$rep.err" | sort | uniq -c || true
  echo "load average after rep $rep: $(cut -d' ' -f1-3 /proc/loadavg)"
done
.venv/bin/python - "$results" "$n" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    name, _, value = line.split()
    rates.setdefault(name, []).append(float(value))
k, u, t, p = (statistics.mean(rates[x]) for x in ("kyodo", "uvicorn", "tipg", "plain"))
print(f"\n{int(sys.argv[2]):,} points, mean of 2: Kyodo (Granian) {k:.0f} req/s, Kyodo (uvicorn) {u:.0f} req/s, "
      f"tipg {t:.0f} req/s, plain query {p:.0f} tx/s; Kyodo/tipg {k / t:.2f}x, Kyodo/plain {k / p:.2f} "
      f"(uvicorn: {u / t:.2f}x, {u / p:.2f})")
PY
