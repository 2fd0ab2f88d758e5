#!/usr/bin/env bash
# Load the same GeoPackage with `registry load assets` and with `ogr2ogr -f PostgreSQL`, each into a
# freshly migrated database, and print wall-clock times. Run by hand: bash bench/run.sh 1000000
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
file=bench/data/points_${n}.gpkg
[ -f "$file" ] || .venv/bin/python bench/make_points.py "$n"

base=$(.venv/bin/registry db url)                       # postgresql://postgres@/kyodo?host=<dir>&port=<port>
socket=$(sed -E 's/.*host=([^&]*).*/\1/' <<<"$base")
port=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$base")
db=kyodo_bench
url="postgresql://postgres@/${db}?host=${socket}&port=${port}"
psql_admin() { psql -X -q "host=$socket port=$port dbname=postgres user=postgres" "$@"; }

fresh() {
  psql_admin -c "drop database if exists $db with (force)" -c "create database $db"
  DATABASE_URL=$url .venv/bin/registry migrate >/dev/null
}

seconds() { local t0=$1; python3 -c "import time; print(f'{time.time() - $t0:.1f}')"; }

echo "== $file ($n points)"
fresh
t0=$(python3 -c 'import time; print(time.time())')
DATABASE_URL=$url .venv/bin/registry load assets "$file" --tenant 131016 --quiet
echo "registry load assets (fresh insert): $(seconds "$t0") s"

t0=$(python3 -c 'import time; print(time.time())')
DATABASE_URL=$url .venv/bin/registry load assets "$file" --tenant 131016 --quiet
echo "registry load assets (identical re-load, nothing changes): $(seconds "$t0") s"

t0=$(python3 -c 'import time; print(time.time())')
ogr2ogr -f PostgreSQL PG:"host=$socket port=$port dbname=$db user=postgres" "$file" \
  -nln ogr_points -overwrite -lco GEOMETRY_NAME=geom --config PG_USE_COPY YES
echo "ogr2ogr -f PostgreSQL (plain table + GiST index): $(seconds "$t0") s"

fresh
t0=$(python3 -c 'import time; print(time.time())')
DATABASE_URL=$url .venv/bin/registry load assets "$file" --tenant 131016 --quiet --workers 1
echo "registry load assets --workers 1 (fresh insert on one connection): $(seconds "$t0") s"

psql -X -q -A -t "host=$socket port=$port dbname=$db user=postgres" \
  -c "select 'rows: assets ' || (select count(*) from assets) || ', audit ' || (select count(*) from asset_audit)
            || ', feed ' || (select count(*) from asset_changes)"
psql_admin -c "drop database if exists $db with (force)"
