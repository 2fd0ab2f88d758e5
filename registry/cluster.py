"""The embedded default database: a private PostgreSQL + PostGIS cluster in a folder of the project.

It listens on a Unix socket only, inside its own data directory, so it never collides with
another server on the machine (a PostgreSQL on 5432, say) and nobody else can reach it.
Run as root, the cluster belongs to the `postgres` user, as PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from registry.paths import PROJECT_ROOT

DEFAULT_PORT = 54329
SUPERUSER = "postgres"
DATABASE = "kyodo"
# Unix socket paths are limited to 107 bytes; leave room for "/.s.PGSQL.NNNNN".
_MAX_SOCKET_DIR = 90


class ClusterError(RuntimeError):
    """Something the user must fix; the message says exactly what."""


def _run(cmd: list[str], *, as_user: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    if as_user:
        cmd = ["runuser", "-u", as_user, "--", *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise ClusterError(f"`{' '.join(cmd)}` failed:\n{proc.stdout}{proc.stderr}".strip())
    return proc


def find_bindir() -> Path:
    """PostgreSQL's server binaries: through pg_config, else the usual Debian paths (newest first)."""
    candidates: list[Path] = []
    if env := os.environ.get("KYODO_PG_BINDIR"):
        candidates.append(Path(env))
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            candidates.append(Path(out.stdout.strip()))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    candidates.extend(debian)
    for bindir in candidates:
        if (bindir / "initdb").exists() and (bindir / "pg_ctl").exists():
            return bindir
    raise ClusterError(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found.\n"
        "Install them with:  sudo apt-get install -y postgresql postgresql-15-postgis-3\n"
        "or point KYODO_PG_BINDIR at their folder, or set DATABASE_URL to use another server."
    )


def check_postgis(bindir: Path) -> None:
    version = bindir.parent.name
    sharedirs = [Path(f"/usr/share/postgresql/{version}")]
    pg_config = bindir / "pg_config"
    if pg_config.exists():
        out = subprocess.run([str(pg_config), "--sharedir"], capture_output=True, text=True, check=False)
        if out.returncode == 0:
            sharedirs.insert(0, Path(out.stdout.strip()))
    if not any((d / "extension" / "postgis.control").exists() for d in sharedirs):
        raise ClusterError(
            f"PostGIS is not installed for PostgreSQL {version}.\n"
            f"Install it with:  sudo apt-get install -y postgresql-{version}-postgis-3"
        )


@dataclass(frozen=True)
class Cluster:
    datadir: Path
    port: int

    @classmethod
    def default(cls) -> Cluster:
        port = int(os.environ.get("KYODO_PG_PORT", DEFAULT_PORT))
        datadir = Path(os.environ.get("KYODO_PGDATA", PROJECT_ROOT / ".kyodo" / "pgdata"))
        if os.geteuid() == 0 and not _postgres_can_reach(datadir.parent):
            # A clone under /root is closed to the postgres user; keep the cluster where it can live.
            digest = hashlib.sha1(str(datadir).encode()).hexdigest()[:10]
            datadir = Path("/var/lib/kyodo-registry") / digest / "pgdata"
        return cls(datadir=datadir, port=port)

    @property
    def run_as(self) -> str | None:
        return SUPERUSER if os.geteuid() == 0 else None

    @property
    def socket_dir(self) -> Path:
        if len(str(self.datadir)) <= _MAX_SOCKET_DIR:
            return self.datadir
        digest = hashlib.sha1(str(self.datadir).encode()).hexdigest()[:10]
        return Path(tempfile.gettempdir()) / f"kyodo-{digest}"

    def url(self, database: str = DATABASE, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{database}?host={self.socket_dir}&port={self.port}"

    def is_initialised(self) -> bool:
        return (self.datadir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        if not self.is_initialised():
            return False
        bindir = find_bindir()
        proc = _run([str(bindir / "pg_ctl"), "-D", str(self.datadir), "status"], as_user=self.run_as, check=False)
        return proc.returncode == 0

    def up(self) -> str:
        """Initialise (first time), start, and create the database. Returns what was done."""
        bindir = find_bindir()
        check_postgis(bindir)
        done = []
        if not self.is_initialised():
            self._initdb(bindir)
            done.append(f"initialised {self.datadir}")
        if not self.is_running():
            self._write_settings()
            self._prepare_socket_dir()
            log = self.datadir / "server.log"
            _run(
                [str(bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(log), "-w", "-t", "60", "start"],
                as_user=self.run_as,
            )
            done.append(f"started on socket {self.socket_dir} port {self.port}")
        self._create_database(bindir)
        return "; ".join(done) or "already running"

    def down(self, mode: str = "fast") -> str:
        """Stop the cluster: `fast` rolls back open transactions; `immediate` is a crash (the tests use it)."""
        if not self.is_running():
            return "not running"
        bindir = find_bindir()
        _run([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"], as_user=self.run_as)
        return "stopped"

    def status(self) -> str:
        if not self.is_initialised():
            return f"not initialised ({self.datadir}); run `registry db up`"
        state = "running" if self.is_running() else "stopped"
        return f"{state}: data {self.datadir}, socket {self.socket_dir}, port {self.port}"

    def _initdb(self, bindir: Path) -> None:
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(self.datadir, user.pw_uid, user.pw_gid)
        self.datadir.chmod(0o700)
        _run(
            [
                str(bindir / "initdb"),
                "-D", str(self.datadir),
                "-U", SUPERUSER,
                "-E", "UTF8",
                "--locale=C.UTF-8",
                # Only the socket in the 0700 data directory is open, so trust means "whoever owns this folder".
                "--auth-local=trust",
                "--auth-host=reject",
            ],
            as_user=self.run_as,
        )
        self._write_settings()

    def _settings(self) -> dict[str, str]:
        return {
            "listen_addresses": "''",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "200",
            "shared_buffers": "'256MB'",
            "work_mem": "'16MB'",
            "maintenance_work_mem": "'256MB'",
            # Bulk loads write a lot of WAL; fewer checkpoints and compressed full-page images keep them
            # from stalling on I/O.
            "max_wal_size": "'8GB'",
            "checkpoint_timeout": "'30min'",
            "wal_compression": "on",
            # Large loads merge over several connections and commit them together (loaders/parallel.py).
            "max_prepared_transactions": "16",
            "timezone": "'UTC'",
            "log_min_messages": "warning",
        }

    def _write_settings(self) -> None:
        """Append the settings this file does not have yet: a cluster made by an older version gains
        the newer ones at its next start, and settings someone changed by hand are kept."""
        conf = self.datadir / "postgresql.auto.conf"
        text = conf.read_text()
        present = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
        missing = {k: v for k, v in self._settings().items() if k not in present}
        if missing:
            conf.write_text(text + "".join(f"{k} = {v}\n" for k, v in missing.items()))

    def _prepare_socket_dir(self) -> None:
        sock = self.socket_dir
        if sock == self.datadir:
            return
        sock.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            user = pwd.getpwnam(self.run_as)
            os.chown(sock, user.pw_uid, user.pw_gid)
        sock.chmod(0o700)

    def _create_database(self, bindir: Path) -> None:
        psql = [str(bindir / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER]
        exists = _run([*psql, "-d", "postgres", "-Atc", f"select 1 from pg_database where datname = '{DATABASE}'"])
        if exists.stdout.strip() != "1":
            _run([*psql, "-d", "postgres", "-c", f"create database {DATABASE}"])


def _postgres_can_reach(folder: Path) -> bool:
    probe = folder
    while not probe.exists():
        probe = probe.parent
    proc = subprocess.run(
        ["runuser", "-u", SUPERUSER, "--", "test", "-x", str(probe)], capture_output=True, check=False
    )
    return proc.returncode == 0
