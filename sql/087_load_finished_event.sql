-- Why (issue 15): a file load is the one change that no row trigger can describe as a whole: its report
-- (rows read, accepted, rejected, inserted, updated, the first issues) exists only in the loader. The loader
-- calls app.load_finished in the load's own transaction, so the event exists if and only if the load
-- committed, like every other event of the outbox (081). One event per municipality the load wrote to, heard
-- by that municipality and its prefecture ('pref:'), as an upload's result is their business; admins hear all.
-- Security definer because the outbox takes inserts from admins only (081); a municipality may announce only
-- its own loads, checked here and not only in the caller.

create function app.load_finished(p_municipalities text[], p_report jsonb) returns integer
language plpgsql security definer set search_path = public, pg_temp as $$
declare
  load_id uuid := gen_random_uuid();
  n integer;
begin
  if app.role() = 'municipality' and exists (select 1 from unnest(p_municipalities) m where m <> app.tenant()) then
    raise exception 'a municipality announces only its own loads' using errcode = '42501';
  end if;
  insert into event_outbox (type, subject, audience, prefecture, data)
  select 'load.finished', 'load/' || load_id || '/' || m, array[m, 'pref:' || left(m, 2)], left(m, 2),
         p_report || jsonb_build_object('load_id', load_id, 'municipality_code', m)
    from unnest(p_municipalities) m order by m;
  get diagnostics n = row_count;
  return n;
end $$;
revoke all on function app.load_finished(text[], jsonb) from public;
grant execute on function app.load_finished(text[], jsonb) to kyodo_api;
