-- Why (issue 15): round phases (opened, closing soon, closed, firm) change with the clock, not with a write, so
-- the worker announces them (registry/events/jobs.py) and remembers here which it announced, once per round and
-- phase. And /readyz reports how far the worker lags behind: the age of the oldest webhook delivery or job that
-- is due and not yet done, and how long ago a worker last sent its heartbeat.

create table round_notices (
  organiser_code text not null,
  round_id uuid not null,
  notice text not null check (notice in ('opened', 'closing_soon', 'closed', 'firm')),
  at timestamptz not null default now(),
  primary key (organiser_code, round_id, notice)
);
alter table round_notices enable row level security;
alter table round_notices force row level security;
create policy round_notices_admin on round_notices for all to kyodo_api using (app.is_admin()) with check (app.is_admin());
grant select, insert on round_notices to kyodo_api;

create function app.worker_lag()
returns table (lag_seconds double precision, heartbeat_age_seconds double precision, pending_deliveries bigint)
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce(extract(epoch from now() - least(
           (select min(d.next_attempt_at) from webhook_deliveries d
              join webhook_subscriptions s using (subscription_id)
             where d.status = 'pending' and s.status <> 'paused' and d.next_attempt_at <= now()),
           (select min(j.scheduled_at) from procrastinate.procrastinate_jobs j
             where j.status = 'todo' and j.scheduled_at <= now()))), 0)::double precision,
         (select extract(epoch from now() - max(w.last_heartbeat)) from procrastinate.procrastinate_workers w)::double precision,
         (select count(*) from webhook_deliveries where status = 'pending')
$$;
revoke all on function app.worker_lag() from public;
grant execute on function app.worker_lag() to kyodo_api;
