#!/usr/bin/env bash
# Load the same GeoPackage with `registry load assets` and with `ogr2ogr -f PostgreSQL`, each into a
# freshly migrated database, interleaved, and print wall-clock times and the ratio of each repetition.
# Run by hand: bash bench/run.sh 1000000 [repetitions]
#   BEFORE=/path/to/other/checkout  also times that checkout's loader in the same run (its own sql/ and
#                                    loaders/, this checkout's virtual environment), for before/after.
#   RELOAD=1                         also times an identical re-load and a one-connection load.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
reps=${2:-2}
file=bench/data/points_${n}.gpkg
[ -f "$file" ] || .venv/bin/python bench/make_points.py "$n"

base=$(.venv/bin/registry db url)                       # postgresql://postgres@/kyodo?host=<dir>&port=<port>
socket=$(sed -E 's/.*host=([^&]*).*/\1/' <<<"$base")
port=$(sed -E 's/.*port=([0-9]+).*/\1/' <<<"$base")
db=kyodo_bench
url="postgresql://postgres@/${db}?host=${socket}&port=${port}"
psql_admin() { psql -X -q "host=$socket port=$port dbname=postgres user=postgres" "$@"; }
psql_bench() { psql -X -q -A -t "host=$socket port=$port dbname=$db user=postgres" "$@"; }
here=$PWD
file_abs=$here/$file

# registry [tree] [load options...]: `registry` from this checkout or, with a tree, from that one.
registry() {
  local tree=$1; shift
  (cd "$tree" && DATABASE_URL=$url PYTHONPATH=$tree "$here/.venv/bin/python" -c \
     'import sys; from registry.cli import main; sys.exit(main(sys.argv[1:]))' "$@")
}

fresh() {  # fresh <tree>: an empty database migrated by that tree's migrations
  psql_admin -c "drop database if exists $db with (force)" -c "create database $db"
  registry "$1" migrate >/dev/null
}

now() { python3 -c 'import time; print(time.time())'; }
since() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }

counts() {
  psql_bench -c "select 'assets ' || (select count(*) from assets) || ', audit ' || (select count(*) from asset_audit)
                      || ', feed ' || (select count(*) from asset_changes)"
}

time_load() {  # time_load <tree> [options]: prints seconds
  local tree=$1; shift
  fresh "$tree"
  local t0; t0=$(now)
  registry "$tree" load assets "$file_abs" --tenant 131016 --quiet "$@" >/dev/null
  since "$t0"
}

time_ogr() {
  local t0; t0=$(now)
  ogr2ogr -f PostgreSQL PG:"host=$socket port=$port dbname=$db user=postgres" "$file" \
    -nln ogr_points -overwrite -lco GEOMETRY_NAME=geom --config PG_USE_COPY YES 2>/dev/null
  since "$t0"
}

echo "== $file ($n points), $reps repetitions; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 1 "$reps"); do
  ours=$(time_load "$here")
  rows=$(counts)
  ogr=$(time_ogr)
  line="rep $r: registry load assets ${ours} s ($rows); ogr2ogr ${ogr} s; ratio $(python3 -c "print(f'{$ours / $ogr:.2f}')")"
  if [ -n "${BEFORE:-}" ]; then
    before=$(time_load "$BEFORE")
    line="$line; before (${BEFORE}) ${before} s ($(counts)), ratio $(python3 -c "print(f'{$before / $ogr:.2f}')")"
  fi
  echo "$line"
done

if [ -n "${RELOAD:-}" ]; then
  fresh "$here"
  registry "$here" load assets "$file_abs" --tenant 131016 --quiet >/dev/null
  t0=$(now)
  registry "$here" load assets "$file_abs" --tenant 131016 --quiet >/dev/null
  echo "registry load assets (identical re-load, nothing changes): $(since "$t0") s"
  echo "registry load assets --workers 1 (fresh insert on one connection): $(time_load "$here" --workers 1) s ($(counts))"
fi
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
psql_admin -c "drop database if exists $db with (force)"
