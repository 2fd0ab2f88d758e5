-- Rate limits that hold across every worker of a server (issue 10). A counter per process lets N
-- workers grant N times the budget, and nothing else is shared by all of them but PostgreSQL. One
-- row per bucket (a client address's failed authentications, a key's requests) and fixed window,
-- bumped atomically by an upsert. UNLOGGED: a crash only resets the counters, and no WAL is written
-- for the one row each request touches. Not tenant data: it holds a hash of the key, never the key.
create unlogged table app.rate_counters (
  bucket text not null,
  window_start timestamptz not null,
  hits integer not null default 0,
  primary key (bucket, window_start)
);
grant select, insert, update, delete on app.rate_counters to kyodo_api;
