#!/usr/bin/env bash
# Kyodo Registry: set up everything on a fresh Debian machine, then run the demo or the tests.
#   bash run.sh demo   system packages, virtualenv, database, migrations, demo data; serves the API
#   bash run.sh test   the same set-up, then ruff and the test suite against the real database (the web map's
#                      browser tests drive Debian's Chromium, installed here when missing)
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-}
case "$mode" in demo|test) ;; *) echo "usage: bash run.sh demo|test" >&2; exit 2 ;; esac

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

pg_bindir() {
  if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then pg_config --bindir; return; fi
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -n 1
}

missing_packages() {
  local missing=() bindir version
  python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
    || missing+=(python3 python3-venv python3-dev)
  bindir=$(pg_bindir || true)
  if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
    missing+=(postgresql postgresql-postgis)
  else
    version=$(basename "$(dirname "$bindir")")
    [ -f "/usr/share/postgresql/$version/extension/postgis.control" ] || missing+=("postgresql-$version-postgis-3")
  fi
  command -v ogrinfo >/dev/null || missing+=(gdal-bin)
  command -v runuser >/dev/null || missing+=(util-linux)
  # The web map (web/) is built with Node.js from Debian's packages; its tests drive Debian's Chromium.
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ "$mode" = test ]; then command -v chromium >/dev/null || missing+=(chromium); fi
  echo "${missing[@]:-}"
}

if [ -z "${DATABASE_URL:-}" ] || ! command -v ogrinfo >/dev/null || ! command -v npm >/dev/null \
   || { [ "$mode" = test ] && ! command -v chromium >/dev/null; }; then
  need=$(missing_packages)
  if [ -n "$need" ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing system packages: $need"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      # shellcheck disable=SC2086
      apt-get install -y -qq $need >/dev/null
      need=$(missing_packages)
      [ -z "$need" ] || { echo "still missing after apt-get: $need" >&2; exit 1; }
    else
      echo "Kyodo Registry needs these Debian packages: $need" >&2
      echo "Install them with:  sudo apt-get update && sudo apt-get install -y $need" >&2
      exit 1
    fi
  fi
fi

if [ ! -x .venv/bin/python ]; then
  say "creating the virtual environment in .venv"
  python3 -m venv .venv
fi
say "installing Kyodo Registry and its dependencies into .venv"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# The web map: MapLibre and the offline basemap come from the npm registry, pinned by web/package-lock.json,
# into web/dist, which the API serves at / and /map. Rebuilt only when its sources changed.
stamp=web/dist/.built
if [ ! -f "$stamp" ] || [ -n "$(find web/src web/build.mjs web/package-lock.json -newer "$stamp" 2>/dev/null | head -n 1)" ]; then
  say "building the web map (npm ci, then web/dist)"
  (cd web && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build)
  touch "$stamp"
fi

if [ -z "${DATABASE_URL:-}" ]; then
  say "starting the embedded PostgreSQL + PostGIS cluster"
  .venv/bin/registry db up
fi
say "applying migrations and reference data"
.venv/bin/registry migrate

if [ "$mode" = demo ]; then
  say "loading the national demo"
  .venv/bin/registry demo
  say "starting the event worker (webhooks, mail, deadlines) beside the server"
  .venv/bin/registry worker & worker_pid=$!
  trap 'kill "$worker_pid" 2>/dev/null || true' EXIT
  say "serving the API on http://${KYODO_HOST:-127.0.0.1}:${KYODO_PORT:-8000} (docs at /schema/docs); Ctrl-C stops"
  .venv/bin/registry serve --host "${KYODO_HOST:-127.0.0.1}" --port "${KYODO_PORT:-8000}"
fi

say "ruff"
.venv/bin/ruff check --output-format concise .
say "import contracts"
.venv/bin/lint-imports --no-cache
say "tests"
exec .venv/bin/python -m pytest -q
