#!/usr/bin/env bash
# Load the same GeoPackage with `registry load assets` and with `ogr2ogr -f PostgreSQL`, each into a
# freshly migrated database, interleaved, and print wall-clock times, the ratio of each repetition and their median.
# Run by hand: bash bench/run.sh 1000000 [repetitions]
#   BEFORE=/path/to/other/checkout  also times that checkout's loader in the same run (its own sql/ and
#                                    loaders/, this checkout's virtual environment), for before/after.
#   RELOAD=1                         also times an identical re-load and a one-connection load.
#   PUBLISH=1                        loads with --publish: the assets published, so that the load also writes a
#                                    change-feed row, summaries, tile cells and events for each (drafts have none).
#   POST=N                           also times N single-row POST and PATCH /v1/assets through the app
#                                    (bench/post_asset.py), on each checkout's fresh database, interleaved.
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

settle() {  # vacuum the bench database, then wait for its backend's exit, so that no later CPU reading counts it
  psql_bench -c "vacuum analyze" >/dev/null
  sleep 1
}

fresh() {  # fresh <tree>: an empty database migrated by that tree's migrations
  psql_admin -c "drop database if exists $db with (force)" -c "create database $db"
  registry "$1" migrate >/dev/null
  # Settled before the timed load, as a database in use is: else autovacuum works through the catalogue rows
  # the migrations just wrote during the load (ogr2ogr, timed later in the same database, never met that).
  settle
}

now() { python3 -c 'import time; print(time.time())'; }
# CPU seconds the cluster's finished backends used (the postmaster's reaped children), and the same
# for this shell's finished children: a busy machine stretches wall clock, CPU time much less.
pgdata=$(.venv/bin/python -c 'from registry.cluster import Cluster; print(Cluster.default().datadir)' 2>/dev/null || echo "$socket")
server_cpu() { awk '{print ($16 + $17) / 100}' "/proc/$(head -1 "$pgdata/postmaster.pid")/stat"; }
since() { python3 -c "import time; print(f'{time.time() - $1:.1f}')"; }

counts() {
  psql_bench -c "select 'assets ' || (select count(*) from assets) || ', audit ' || (select count(*) from asset_audit)
                      || ', feed ' || (select count(*) from asset_changes)"
}

cpu_of() {  # cpu_of <command...>: runs it, prints its wall-clock seconds, and its CPU to fd 3
  local c0 s0 t0; s0=$(server_cpu); t0=$(now)
  c0=$( { /usr/bin/time -f '%U %S' "$@" >/dev/null; } 2>&1 | tail -1 | awk '{print $1 + $2}')
  since "$t0"
  sleep 1  # for the backends' exit to be counted
  echo "cpu: client ${c0} s, server $(python3 -c "print(f'{$(server_cpu) - $s0:.1f}')") s" >&3
}

time_load() {  # time_load <tree> [options]: prints seconds; CPU to fd 3
  local tree=$1; shift
  fresh "$tree"
  cpu_of env DATABASE_URL="$url" PYTHONPATH="$tree" bash -c 'cd "$0" && exec "$1" -c "import sys; from registry.cli import main; sys.exit(main(sys.argv[1:]))" "${@:2}"' \
    "$tree" "$here/.venv/bin/python" load assets "$file_abs" --tenant 131016 --quiet "$@"
}

time_ogr() {
  cpu_of ogr2ogr -f PostgreSQL PG:"host=$socket port=$port dbname=$db user=postgres" "$file" \
    -nln ogr_points -overwrite -lco GEOMETRY_NAME=geom --config PG_USE_COPY YES --config CPL_LOG /dev/null
}

echo "== $file ($n points), $reps repetitions; load average $(cut -d' ' -f1-3 /proc/loadavg)"
ratios=()
for r in $(seq 1 "$reps"); do
  # Odd repetitions time our load first, even ones ogr2ogr first, so that a machine slowing down or speeding up
  # over a run favours neither. ogr2ogr is timed in a migrated database: ours, after our load, settled first so
  # that no autovacuum of the million rows just loaded runs beside it; or a fresh one.
  if [ $((r % 2)) = 1 ]; then
    ours=$(time_load "$here" ${PUBLISH:+--publish} 3>/tmp/bench_cpu_ours)
    rows=$(counts)
    settle
    ogr=$(time_ogr 3>/tmp/bench_cpu_ogr)
  else
    fresh "$here"
    ogr=$(time_ogr 3>/tmp/bench_cpu_ogr)
    ours=$(time_load "$here" ${PUBLISH:+--publish} 3>/tmp/bench_cpu_ours)
    rows=$(counts)
  fi
  ratios+=("$(python3 -c "print(f'{$ours / $ogr:.2f}')")")
  echo "rep $r: registry load assets ${ours} s ($rows; $(cat /tmp/bench_cpu_ours))"
  echo "rep $r: ogr2ogr ${ogr} s ($(cat /tmp/bench_cpu_ogr)); registry / ogr2ogr ${ratios[-1]}"
  if [ -n "${BEFORE:-}" ]; then
    before=$(time_load "$BEFORE" ${PUBLISH:+--publish} 3>/tmp/bench_cpu_before)
    echo "rep $r: before ($BEFORE) ${before} s ($(counts); $(cat /tmp/bench_cpu_before));" \
         "before / ogr2ogr $(python3 -c "print(f'{$before / $ogr:.2f}')")"
  fi
done

if [ -n "${RELOAD:-}" ]; then
  fresh "$here"
  registry "$here" load assets "$file_abs" --tenant 131016 --quiet >/dev/null
  t0=$(now)
  registry "$here" load assets "$file_abs" --tenant 131016 --quiet >/dev/null
  echo "registry load assets (identical re-load, nothing changes): $(since "$t0") s"
  echo "registry load assets --workers 1 (fresh insert on one connection): $(time_load "$here" --workers 1 3>/dev/null) s ($(counts))"
fi
if [ -n "${POST:-}" ]; then
  for r in 1 2; do
    for tree in "$here" ${BEFORE:+"$BEFORE"}; do
      fresh "$tree"
      echo "rep $r: $tree: $(cd "$tree" && DATABASE_URL=$url PYTHONPATH=$tree "$here/.venv/bin/python" \
        "$here/bench/post_asset.py" "$POST" "r$r" 2>/dev/null | tail -1) (load average $(cut -d' ' -f1 /proc/loadavg))"
    done
  done
fi
echo "registry / ogr2ogr over the $reps repetitions: median $(python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "${ratios[@]}"), each ${ratios[*]}"
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
psql_admin -c "drop database if exists $db with (force)"
