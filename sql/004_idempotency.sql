-- Idempotency-Key on POST: the first request's response is stored in the same transaction as its
-- effect, so a retry either replays it or (if the first rolled back) runs afresh.
create table idempotency_keys (
  tenant_code text not null,
  idempotency_key text not null check (length(idempotency_key) between 1 and 255),
  method text not null,
  path text not null,
  request_hash bytea not null,
  status integer,
  response bytea,
  created_at timestamptz not null default now(),
  primary key (tenant_code, idempotency_key)
);
alter table idempotency_keys enable row level security;
alter table idempotency_keys force row level security;
create policy idempotency_own on idempotency_keys for all to kyodo_api
  using (tenant_code = app.tenant()) with check (tenant_code = app.tenant());
grant select, insert, update on idempotency_keys to kyodo_api;
create index idempotency_keys_created on idempotency_keys (created_at);
