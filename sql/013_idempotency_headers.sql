-- A replayed answer carries the first answer's headers too (ETag, Location), not only its body.
alter table idempotency_keys add column headers jsonb not null default '{}';
