"""Settings read from the environment, once, at start-up."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import msgspec

PROJECT_ROOT = Path(__file__).resolve().parent.parent
API_ROLE = "kyodo_api"
OWNER_ROLE = "kyodo_owner"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    """Connection used for migrations and administration (the owner, or a superuser)."""
    api_database_url: str
    """Connection the API uses: the kyodo_api role, which owns nothing and cannot bypass row security."""
    statement_timeout_ms: int = 5000
    pool_min: int = 2
    pool_max: int = 10
    max_body_bytes: int = 12_000_000
    page_limit_max: int = 1000
    public_base_url: str | None = None
    """Used to build absolute `next` links behind a proxy; request URL otherwise."""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        database_url = env.get("DATABASE_URL") or _embedded_url()
        api_url = env.get("API_DATABASE_URL") or api_url_for(database_url, env.get("KYODO_API_PASSWORD"))
        return cls(
            database_url=database_url,
            api_database_url=api_url,
            statement_timeout_ms=int(env.get("KYODO_STATEMENT_TIMEOUT_MS", "5000")),
            pool_min=int(env.get("KYODO_POOL_MIN", "2")),
            pool_max=int(env.get("KYODO_POOL_MAX", "10")),
            public_base_url=env.get("KYODO_PUBLIC_URL") or None,
        )


def _embedded_url() -> str:
    from registry.db.cluster import Cluster

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
