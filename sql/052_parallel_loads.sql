-- Parallel bulk loads (loaders/parallel.py). A large file is merged by several connections at once,
-- each in its own transaction, and committed with two-phase commit so that the load stays all or
-- nothing. A prepared transaction may not touch temporary tables, so the workers' staging tables live
-- in this schema instead, named after their load and dropped by it.
create schema loader;
grant usage, create on schema loader to kyodo_api;

-- A load's commit decision: written after every worker has prepared and before the first is
-- committed, deleted once all are. A load interrupted in between is finished from this record:
-- prepared workers of a load with a decision are committed, those of a load without one rolled back.
create table loader.decisions (
  load_id uuid primary key,
  decided_at timestamptz not null default now()
);
grant select, insert, delete on loader.decisions to kyodo_api;
