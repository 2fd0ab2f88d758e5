-- Why: at national scale (1,741 municipalities x 20 items = 34,820 needs) computing a round's pools,
-- savings and what-if from every need took 0.8-1.9 s per request (bench/PROCUREMENT.md), for figures
-- that change only when a need, a tender's membership, a tender or the catalogue changes. Triggers
-- count those changes here, in the writing transaction, so a reader can tell whether pools it computed
-- earlier are still those of the data it sees (registry/procurement/summary.py keeps them per version).
--
-- One row per round, plus one row (organiser '', nil round) for the catalogue, whose curves price every
-- round. Statement-level triggers with transition tables bump each touched round once per statement:
-- a 34,820-line upload costs one update, not 34,820. Needs of one round written at the same time queue
-- on the round's row for the rest of their (short) transactions; that is the price of an exact version.
create table procurement_pool_versions (
  organiser_code text not null,
  round_id uuid not null,
  version bigint not null default 1,
  primary key (organiser_code, round_id)
);
alter table procurement_pool_versions enable row level security;
alter table procurement_pool_versions force row level security;
-- Only the definer functions below (owned by kyodo_owner) read or write it; the API role has no grant.
create policy procurement_pool_versions_owner on procurement_pool_versions for all to kyodo_owner
  using (true) with check (true);
insert into procurement_pool_versions values ('', '00000000-0000-0000-0000-000000000000', 1);

create function app.bump_pool_versions() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into procurement_pool_versions as v (organiser_code, round_id)
  select distinct organiser_code, round_id from changed_rows
  on conflict (organiser_code, round_id) do update set version = v.version + 1;
  return null;
end
$$;

-- Tenders and their membership carry the round only through the tender.
create function app.bump_pool_versions_by_tender() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  insert into procurement_pool_versions as v (organiser_code, round_id)
  select distinct t.organiser_code, t.round_id
    from changed_rows c join procurement_tenders t on t.organiser_code = c.organiser_code
                                                 and t.tender_id = c.tender_id
  on conflict (organiser_code, round_id) do update set version = v.version + 1;
  return null;
end
$$;

create function app.bump_catalogue_version() returns trigger
language plpgsql security definer set search_path = public, pg_temp as $$
begin
  update procurement_pool_versions set version = version + 1
   where organiser_code = '' and round_id = '00000000-0000-0000-0000-000000000000';
  return null;
end
$$;

create trigger procurement_needs_pool_version_ins after insert on procurement_needs
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions();
create trigger procurement_needs_pool_version_upd after update on procurement_needs
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions();
create trigger procurement_needs_pool_version_del after delete on procurement_needs
  referencing old table as changed_rows for each statement execute function app.bump_pool_versions();
create trigger procurement_tenders_pool_version_ins after insert on procurement_tenders
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions();
create trigger procurement_tenders_pool_version_upd after update on procurement_tenders
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions();
create trigger procurement_tenders_pool_version_del after delete on procurement_tenders
  referencing old table as changed_rows for each statement execute function app.bump_pool_versions();
create trigger procurement_tender_needs_pool_version_ins after insert on procurement_tender_needs
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions_by_tender();
create trigger procurement_tender_needs_pool_version_upd after update on procurement_tender_needs
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions_by_tender();
create trigger procurement_tender_needs_pool_version_del after delete on procurement_tender_needs
  referencing old table as changed_rows for each statement execute function app.bump_pool_versions_by_tender();
create trigger procurement_categories_pool_version after insert or update or delete on procurement_categories
  for each statement execute function app.bump_catalogue_version();

-- The version of a round's pools as "round.catalogue", for a round the caller may see (else null).
create function app.procurement_pool_version(p_organiser text, p_round uuid) returns text
language sql stable security definer set search_path = public, pg_temp as $$
  select coalesce((select v.version from procurement_pool_versions v
                    where v.organiser_code = p_organiser and v.round_id = p_round), 0)::text
         || '.' || (select c.version from procurement_pool_versions c
                     where c.organiser_code = '' and c.round_id = '00000000-0000-0000-0000-000000000000')::text
    from procurement_rounds r
   where r.organiser_code = p_organiser and r.round_id = p_round
     and app.can_see_round(r.organiser_code, r.prefectures)
$$;
revoke all on function app.procurement_pool_version(text, uuid) from public;
grant execute on function app.procurement_pool_version(text, uuid) to kyodo_api;

-- Rounds created before this migration start at version 1 like new ones.
insert into procurement_pool_versions (organiser_code, round_id)
select organiser_code, round_id from procurement_rounds on conflict do nothing;
