"""Settings read from the environment, once, at start-up."""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

from registry.cluster import Cluster

API_ROLE = "kyodo_api"
OWNER_ROLE = "kyodo_owner"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    """Connection used for migrations and administration (the owner, or a superuser)."""
    api_database_url: str
    """Connection the API uses: the kyodo_api role, which owns nothing and cannot bypass row security."""
    replica_api_urls: tuple[str, ...] = ()
    """Hot standbys the read-only routes are served from, as the API role (DATABASE_REPLICA_URLS, comma-separated,
    written like DATABASE_URL; registry/db/replicas.py). None: everything runs on the primary, as before."""
    replica_max_lag_s: float = 5.0
    """A standby further behind the primary than this (in seconds of the primary's WAL) is skipped until it
    catches up (KYODO_REPLICA_MAX_LAG_S). A read that must see a given write waits for nothing: it goes to the
    primary when no standby has replayed that write."""
    replica_check_s: float = 0.5
    """How often each server process samples the primary's and the standbys' WAL positions (KYODO_REPLICA_CHECK_S):
    two one-row queries per standby a second, and a standby that went down is skipped within this."""
    principal_scope: str = "session"
    """How a request's principal reaches row security (KYODO_PRINCIPAL_SCOPE): `session` (issue 13's fast path: the
    key statement sets it for the connection's session, committed on its own; GET /v1/assets in two round trips)
    or `transaction` (every setter runs SET LOCAL inside the request's BEGIN ... COMMIT, sql/175: four round trips),
    which a Citus coordinator needs, since it propagates only SET LOCAL to the workers (issue 17)."""
    key_cache_s: float = 1.0
    """How long a worker may let a key's requests skip the key statement on a connection that already holds the
    key's principal (KYODO_KEY_CACHE_S; 0 turns it off): registry/auth/key_cache.py, session scope only. Bounds
    what a lost revocation notice could leave; a notice received forgets the key at once."""
    statement_timeout_ms: int = 5000
    pool_min: int = 2
    pool_max: int = 10
    max_body_bytes: int = 12_000_000
    page_limit_max: int = 1000
    """The largest `limit` a list takes; a page of 1,000 assets is about 1 MB of GeoJSON."""
    reference_limit_max: int = 2000
    export_max_rows: int = 200_000
    """Rows one export may hold (registry/exports): the demo's whole nation (91,683 assets) fits twice, an XLSX
    of it stays far below Excel's 1,048,576 rows; beyond it the file says it was cut off."""
    """Reference lists (municipalities) take more, so that all 1,741 municipalities fit in one page."""
    rate_window_s: int = 60
    """The window both rate limits count over (registry/ratelimit.py)."""
    rate_auth_failures: int = 30
    """Failed authentications one client address may make per window before it is answered 429."""
    rate_key_requests: int = 3000
    """Requests one key may make per window: 50 a second, above any person and most sync scripts."""
    public_base_url: str | None = None
    """The server's public address (https://registry.example.lg.jp): links are absolute from it when set,
    relative otherwise, and never built from the Host header a client sends."""
    access_log: bool = False
    """One log line per request (KYODO_ACCESS_LOG=1); off by default, as it costs a worker CPU on every
    request and a reverse proxy in front usually keeps its own."""
    cors_origins: tuple[str, ...] = ()
    """Browser origins (https://map.example.lg.jp) allowed to call the API from script; none by default,
    so a page elsewhere cannot use a key a browser holds."""
    session_hours: int = 8
    """How long a web map session lasts after sign-in (sql/057_web_sessions.sql): one working day."""
    online_basemap: str | None = None
    """`gsi` or `gsi-pale` draws GSI's 地理院タイル under the web map (credited on it); unset, the map uses
    only its offline basemap, as on LGWAN, which reaches no outside server."""
    smtp_host: str | None = None
    """Mail server for notifications (registry/mail); none: mail is queued but not sent."""
    smtp_port: int = 25
    smtp_tls: str = "starttls"
    """'starttls' when the server offers it, 'tls' (implicit, port 465) or 'none'."""
    smtp_user: str | None = None
    smtp_password: str | None = None
    mail_from: str = "kyodo-registry@localhost"
    webhook_allow_networks: tuple[str, ...] = ()
    """Private, loopback or link-local networks (CIDR) webhooks may still target; none by default (SSRF)."""
    webhook_retry_base_s: float = 5.0
    """First retry delay of a failed webhook; it doubles per attempt (capped at an hour) for 24 hours."""
    worker_lease_s: float = 30.0
    """How long a worker holds a subscription it delivers to; a killed worker's work resumes after this."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        database_url = env.get("DATABASE_URL") or _embedded_url()
        api_url = env.get("API_DATABASE_URL") or api_url_for(database_url, env.get("KYODO_API_PASSWORD"))
        password = env.get("KYODO_API_PASSWORD")
        return cls(
            database_url=database_url,
            api_database_url=api_url,
            replica_api_urls=tuple(api_url_for(u.strip(), password)
                                   for u in env.get("DATABASE_REPLICA_URLS", "").split(",") if u.strip()),
            replica_max_lag_s=float(env.get("KYODO_REPLICA_MAX_LAG_S", "5")),
            replica_check_s=float(env.get("KYODO_REPLICA_CHECK_S", "0.5")),
            principal_scope=parse_principal_scope(env.get("KYODO_PRINCIPAL_SCOPE", "")),
            key_cache_s=float(env.get("KYODO_KEY_CACHE_S", "1")),
            statement_timeout_ms=int(env.get("KYODO_STATEMENT_TIMEOUT_MS", "5000")),
            pool_min=int(env.get("KYODO_POOL_MIN", "2")),
            pool_max=int(env.get("KYODO_POOL_MAX", "10")),
            page_limit_max=int(env.get("KYODO_PAGE_LIMIT", "1000")),
            export_max_rows=int(env.get("KYODO_EXPORT_MAX_ROWS", "200000")),
            rate_window_s=int(env.get("KYODO_RATE_WINDOW_S", "60")),
            rate_auth_failures=int(env.get("KYODO_RATE_AUTH_FAILURES", "30")),
            rate_key_requests=int(env.get("KYODO_RATE_KEY_REQUESTS", "3000")),
            public_base_url=env.get("KYODO_PUBLIC_URL") or None,
            session_hours=int(env.get("KYODO_SESSION_HOURS", "8")),
            online_basemap=env.get("KYODO_BASEMAP") or None,
            access_log=env.get("KYODO_ACCESS_LOG", "0").strip().lower() in ("1", "true", "yes", "on"),
            cors_origins=tuple(o.strip() for o in env.get("KYODO_CORS_ORIGINS", "").split(",") if o.strip()),
            smtp_host=env.get("KYODO_SMTP_HOST") or None, smtp_port=int(env.get("KYODO_SMTP_PORT", "25")),
            smtp_tls=env.get("KYODO_SMTP_TLS", "starttls"), smtp_user=env.get("KYODO_SMTP_USER") or None,
            smtp_password=env.get("KYODO_SMTP_PASSWORD") or None,
            mail_from=env.get("KYODO_MAIL_FROM", "kyodo-registry@localhost"),
            webhook_allow_networks=tuple(n.strip() for n in env.get("KYODO_WEBHOOK_ALLOW_NETWORKS", "").split(",")
                                         if n.strip()),
            webhook_retry_base_s=float(env.get("KYODO_WEBHOOK_RETRY_BASE_S", "5")),
            worker_lease_s=float(env.get("KYODO_WORKER_LEASE_S", "30")),
        )


PRINCIPAL_SCOPES = ("session", "transaction")


def parse_principal_scope(text: str) -> str:
    """KYODO_PRINCIPAL_SCOPE, checked at start-up: a typo must not silently keep the session path on a cluster."""
    value = text.strip().lower() or "session"
    if value not in PRINCIPAL_SCOPES:
        raise ValueError(f"KYODO_PRINCIPAL_SCOPE={text!r} is neither 'session' nor 'transaction'")
    return value


def _embedded_url() -> str:
    return Cluster.default().url()


def api_url_for(database_url: str, password: str | None = None) -> str:
    """The same server and database, as the API role."""
    parts = urlsplit(database_url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = API_ROLE
    if password:
        netloc += ":" + quote(password, safe="")
    netloc += "@" + host
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def with_database(url: str, dbname: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


def serve_address(env: dict[str, str] | None = None) -> tuple[str, int]:
    """Where `registry serve` listens: KYODO_HOST and KYODO_PORT, else 127.0.0.1:8000 (`bash run.sh demo` passes
    the same two on), so the demo's printed curl lines name the address the server actually serves on."""
    env = dict(os.environ if env is None else env)
    host = env.get("KYODO_HOST", "").strip() or DEFAULT_HOST
    port_text = env.get("KYODO_PORT", "").strip()
    if port_text and not (port_text.isdigit() and 1 <= int(port_text) <= 65535):
        raise ValueError(f"KYODO_PORT={port_text!r} is not a TCP port (1 to 65535)")
    return host, int(port_text) if port_text else DEFAULT_PORT


def local_base_url(host: str, port: int) -> str:
    """The URL a client on this machine uses for a server listening on host:port (a wildcard address such as
    0.0.0.0 answers on the loopback too)."""
    if host in ("0.0.0.0", "::", "*"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"
