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


def _wal_compression() -> str:
    """lz4 when the server was built with it (`pg_config --configure` says --with-lz4), else pglz ("on"): a
    server without lz4 refuses to start with wal_compression = lz4."""
    try:
        out = _run([str(find_bindir() / "pg_config"), "--configure"], check=False).stdout
    except (ClusterError, OSError):
        return "on"
    return "lz4" if "--with-lz4" in out else "on"


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

    def standby(self, number: int) -> Cluster:
        """The n-th streaming standby of this cluster (`registry db up --replicas N`): a folder beside the
        data directory and the next port, so its socket never collides with the primary's."""
        return Cluster(datadir=self.datadir.parent / f"replica{number}", port=self.port + number)

    @property
    def slot(self) -> str:
        """The replication slot this cluster streams from its primary through, named after its folder."""
        return "kyodo_" + hashlib.sha1(str(self.datadir).encode()).hexdigest()[:12]

    def forget_standby(self, standby: Cluster) -> None:
        """Drop a removed standby's slot, so that the primary stops keeping WAL for it."""
        bindir = find_bindir()
        _run([str(bindir / "psql"), "-h", str(self.socket_dir), "-p", str(self.port), "-U", SUPERUSER, "-d",
              "postgres", "-Atc", f"select pg_drop_replication_slot(slot_name) from pg_replication_slots "
                                  f"where slot_name = '{standby.slot}' and not active"], check=False)

    def standbys(self) -> list[Cluster]:
        """The standbys made so far (replica1, replica2, ...), in order."""
        found, n = [], 1
        while (s := self.standby(n)).is_initialised():
            found.append(s)
            n += 1
        return found

    def replica_urls(self, database: str = DATABASE) -> list[str]:
        """DATABASE_REPLICA_URLS for the running standbys."""
        return [s.url(database) for s in self.standbys() if s.is_running()]

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

    def up(self, replicas: int = 0) -> str:
        """Initialise (first time), start, and create the database; then start `replicas` streaming
        standbys (made the first time with pg_basebackup -R). Returns what was done."""
        done = [self._up_primary()]
        for n in range(1, replicas + 1):
            done.append(f"replica{n}: " + self.standby(n).follow(self))
        return "; ".join(done)

    def follow(self, primary: Cluster) -> str:
        """Make this folder a hot standby streaming from `primary` (first time), and start it."""
        bindir = find_bindir()
        done = []
        if not self.is_initialised():
            self.datadir.mkdir(parents=True, exist_ok=True)
            if self.run_as:
                user = pwd.getpwnam(self.run_as)
                os.chown(self.datadir, user.pw_uid, user.pw_gid)
            self.datadir.chmod(0o700)
            # -R writes standby.signal and primary_conninfo; -X stream copies the WAL made meanwhile; -c fast
            # checkpoints at once instead of waiting up to checkpoint_timeout (30 min here). -C -S: a replication
            # slot keeps the WAL a stopped standby still needs (without it, one stopped while the tests restarted
            # the primary found "requested WAL segment ... has already been removed" and never caught up);
            # max_slot_wal_keep_size bounds what a standby gone for good can hold.
            _run([str(bindir / "pg_basebackup"), "-D", str(self.datadir), "-h", str(primary.socket_dir),
                  "-p", str(primary.port), "-U", SUPERUSER, "-R", "-X", "stream", "-c", "fast",
                  "-C", "-S", self.slot],
                 as_user=self.run_as)
            self._write_settings(override=("port", "unix_socket_directories", "hot_standby_feedback"))
            done.append(f"copied from port {primary.port} into {self.datadir}")
        if not self.is_running():
            self._start(bindir)
            done.append(f"streaming on socket {self.socket_dir} port {self.port}")
        return "; ".join(done) or "already running"

    def _start(self, bindir: Path) -> None:
        self._write_settings()
        self._prepare_socket_dir()
        log = self.datadir / "server.log"
        _run([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(log), "-w", "-t", "60", "start"],
             as_user=self.run_as)

    def _up_primary(self) -> str:
        bindir = find_bindir()
        check_postgis(bindir)
        done = []
        if not self.is_initialised():
            self._initdb(bindir)
            done.append(f"initialised {self.datadir}")
        if not self.is_running():
            self._start(bindir)
            done.append(f"started on socket {self.socket_dir} port {self.port}")
        self._create_database(bindir)
        return "; ".join(done) or "already running"

    def down(self, mode: str = "fast") -> str:
        """Stop the cluster and its standbys: `fast` rolls back open transactions; `immediate` is a crash
        (the tests use it)."""
        done = [f"replica{n}: {s.stop(mode)}" for n, s in enumerate(self.standbys(), 1)]
        return "; ".join([self.stop(mode), *done])

    def stop(self, mode: str = "fast") -> str:
        """Stop this one server only."""
        if not self.is_running():
            return "not running"
        bindir = find_bindir()
        _run([str(bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop"], as_user=self.run_as)
        return "stopped"

    def status(self) -> str:
        if not self.is_initialised():
            return f"not initialised ({self.datadir}); run `registry db up`"
        state = "running" if self.is_running() else "stopped"
        lines = [f"{state}: data {self.datadir}, socket {self.socket_dir}, port {self.port}"]
        for n, s in enumerate(self.standbys(), 1):
            lines.append(f"replica{n} {'streaming' if s.is_running() else 'stopped'}: data {s.datadir}, "
                         f"socket {s.socket_dir}, port {s.port}")
        return "\n".join(lines)

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
                # Text compares byte by byte, in code-point order: C.UTF-8's order too (glibc 2.35 and later), but
                # without strcoll. A load's index inserts spent 7.5 % of its merge in collation-aware comparisons
                # (perf); 100,000 rows merged in 1.43 s against 1.48 s (six interleaved pairs, bench/README.md).
                "--lc-collate=C",
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
            # from stalling on I/O. lz4 where this PostgreSQL has it: "on" means pglz, which was 3.3 % of a
            # million-point load's backend CPU, mostly compressing the pages of its rebuilt GiST index
            # (1.63 s with pglz, 1.33 s with lz4, 1.26 s uncompressed; bench/README.md, issue 13).
            "max_wal_size": "'8GB'",
            "checkpoint_timeout": "'30min'",
            "wal_compression": _wal_compression(),
            # The two writers of a million-point load make about 60 MB of WAL a second: with 8 MB of WAL buffers
            # and the WAL writer waking every 200 ms, they waited on WALWrite in 15 % of their sampled states and
            # wrote the WAL out themselves. With these, no such wait was sampled (bench/README.md, issue 13).
            "wal_buffers": "'64MB'",
            "wal_writer_delay": "'10ms'",
            # Large loads merge over several connections and commit them together (loaders/parallel.py).
            "max_prepared_transactions": "16",
            "timezone": "'UTC'",
            "log_min_messages": "warning",
            # On a standby: its readers' snapshots hold back the primary's vacuum instead of being cancelled
            # by it after max_standby_streaming_delay (30 s), so a long export on a replica completes.
            "hot_standby_feedback": "on",
            # A standby's replication slot keeps at most this much WAL for it; beyond, the slot is invalidated
            # and that standby must be made again (`registry db up --replicas N` after removing its folder).
            "max_slot_wal_keep_size": "'4GB'",
        }

    def _write_settings(self, override: tuple[str, ...] = ()) -> None:
        """Append the settings this file does not have yet: a cluster made by an older version gains
        the newer ones at its next start, and settings someone changed by hand are kept. `override` names
        settings to write again (a standby's copied file names the primary's port and socket)."""
        conf = self.datadir / "postgresql.auto.conf"
        text = "".join(line + "\n" for line in conf.read_text().splitlines()
                       if line.split("=", 1)[0].strip() not in override)
        present = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
        missing = {k: v for k, v in self._settings().items() if k not in present}
        if missing or override:
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
