-- Joint procurement: catalogue, demand rounds, needs (with every version), shared tenders, lots and
-- contracts. Tenant tables keep the tenant code in the primary key (the organiser's code for rounds
-- and tenders, the municipality's for needs) so they can be distributed by tenant later.

-- The organiser of a round: a prefecture (its own code) or the platform ('admin').
create function app.is_organiser(organiser text) returns boolean
language sql stable parallel safe as $$
  select case app.role()
    when 'admin' then true
    when 'prefecture' then organiser = app.tenant()
    else false end
$$;

-- Who sees a round: its organiser, admins, and the prefectures and municipalities it is open to.
create function app.can_see_round(organiser text, prefectures text[]) returns boolean
language sql stable parallel safe as $$
  select case app.role()
    when 'admin' then true
    when 'prefecture' then organiser = app.tenant() or app.prefecture() = any(prefectures)
    when 'municipality' then app.prefecture() = any(prefectures)
    else false end
$$;

-- The catalogue is reference data: everyone with a key reads it, only admins change it.
create table procurement_categories (
  category_code text primary key check (category_code ~ '^[a-z0-9][a-z0-9-]{1,31}$'),
  name text not null check (length(name) between 1 and 200),
  name_en text not null check (length(name_en) between 1 and 200),
  -- UN/CEFACT Recommendation 20 code (C62 one, H87 piece, ZP page, ...) and a readable unit name.
  unit_code text not null check (unit_code ~ '^[A-Z0-9]{2,3}$'),
  unit_name text not null,
  list_price_yen bigint not null check (list_price_yen > 0),
  -- {"attribute": ["allowed", "values"]}: what a need's hard requirements may name.
  spec_attributes jsonb not null default '{}' check (jsonb_typeof(spec_attributes) = 'object'),
  -- [{"min_quantity": 1, "unit_price_yen": 1000}, ...]: all-units price by pooled quantity.
  price_tiers jsonb not null check (jsonb_typeof(price_tiers) = 'array' and jsonb_array_length(price_tiers) >= 1),
  -- What running one procurement costs a municipality (staff time, notices): basis of process savings.
  process_cost_yen bigint not null default 0 check (process_cost_yen >= 0),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

insert into procurement_categories
  (category_code, name, name_en, unit_code, unit_name, list_price_yen, spec_attributes, price_tiers, process_cost_yen)
values
  ('rpa', 'RPAソフトウェア', 'RPA software', 'C62', 'licence per year', 600000,
   '{"deployment": ["cloud", "on-premises"], "lgwan": ["yes", "no"]}',
   '[{"min_quantity": 1, "unit_price_yen": 600000}, {"min_quantity": 10, "unit_price_yen": 540000},
     {"min_quantity": 30, "unit_price_yen": 480000}, {"min_quantity": 100, "unit_price_yen": 420000}]',
   1200000),
  ('ai-ocr', 'AI-OCRサービス', 'AI-OCR service', 'ZP', 'page per month', 40,
   '{"deployment": ["cloud", "lgwan-asp"], "handwriting": ["yes", "no"]}',
   '[{"min_quantity": 1, "unit_price_yen": 40}, {"min_quantity": 50000, "unit_price_yen": 32},
     {"min_quantity": 200000, "unit_price_yen": 25}, {"min_quantity": 1000000, "unit_price_yen": 18}]',
   900000),
  ('ai-minutes', 'AI議事録作成ツール', 'AI speech-to-text minutes tool', 'C62', 'licence per year', 396000,
   '{"deployment": ["cloud", "on-premises"], "lgwan": ["yes", "no"]}',
   '[{"min_quantity": 1, "unit_price_yen": 396000}, {"min_quantity": 10, "unit_price_yen": 330000},
     {"min_quantity": 50, "unit_price_yen": 280000}]',
   900000),
  ('e-learning', 'eラーニング(DX研修)', 'e-learning content', 'C62', 'seat per year', 6000,
   '{"language": ["ja", "en"]}',
   '[{"min_quantity": 1, "unit_price_yen": 6000}, {"min_quantity": 500, "unit_price_yen": 4800},
     {"min_quantity": 2000, "unit_price_yen": 3600}, {"min_quantity": 10000, "unit_price_yen": 2400}]',
   600000),
  ('pc', 'パソコン', 'PCs', 'H87', 'device', 180000,
   '{"os": ["windows", "chromeos", "macos"], "memory_gb": ["8", "16", "32"], "form": ["laptop", "desktop"]}',
   '[{"min_quantity": 1, "unit_price_yen": 180000}, {"min_quantity": 100, "unit_price_yen": 165000},
     {"min_quantity": 500, "unit_price_yen": 150000}, {"min_quantity": 2000, "unit_price_yen": 138000}]',
   1500000);
-- Row security is forced after the seed rows: forced policies bind the owner running this file too.
alter table procurement_categories enable row level security;
alter table procurement_categories force row level security;
create policy procurement_categories_read on procurement_categories for select to kyodo_api
  using (app.role() <> 'none');
create policy procurement_categories_admin_insert on procurement_categories for insert to kyodo_api
  with check (app.is_admin());
create policy procurement_categories_admin_update on procurement_categories for update to kyodo_api
  using (app.is_admin()) with check (app.is_admin());
grant select, insert, update on procurement_categories to kyodo_api;

create table procurement_rounds (
  organiser_code text not null check (
    organiser_code = 'admin' or (app.lgcode_ok(organiser_code) and substr(organiser_code, 3, 3) = '000')),
  round_id uuid not null default gen_random_uuid(),
  title text not null check (length(title) between 1 and 200),
  -- Two-digit numbers of the prefectures whose municipalities may take part.
  prefectures text[] not null check (cardinality(prefectures) between 1 and 47),
  category_codes text[] not null check (cardinality(category_codes) >= 1),
  opens_at timestamptz not null,
  closes_at timestamptz not null,
  withdrawal_deadline timestamptz not null,
  min_participants integer not null default 2 check (min_participants >= 1),
  min_quantity integer not null default 1 check (min_quantity >= 1),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organiser_code, round_id),
  constraint round_deadlines_in_order check (opens_at < closes_at and closes_at <= withdrawal_deadline)
);
alter table procurement_rounds enable row level security;
alter table procurement_rounds force row level security;
create policy procurement_rounds_read on procurement_rounds for select to kyodo_api
  using (app.can_see_round(organiser_code, prefectures));
create policy procurement_rounds_insert on procurement_rounds for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
create policy procurement_rounds_update on procurement_rounds for update to kyodo_api
  using (app.is_organiser(organiser_code)) with check (app.is_organiser(organiser_code));
-- app.procurement_pool (security definer, owned by kyodo_owner) must read every need of a round the
-- caller may see, to pool quantities without handing another municipality's prices to the caller.
create policy procurement_rounds_owner_pool on procurement_rounds for select to kyodo_owner using (true);
grant select, insert, update on procurement_rounds to kyodo_api;

create table procurement_needs (
  municipality_code lgcode not null references municipalities(code),
  need_id uuid not null default gen_random_uuid(),
  organiser_code text not null,
  round_id uuid not null,
  category_code text not null references procurement_categories(category_code),
  quantity integer not null check (quantity between 1 and 100000000),
  quantity_max integer check (quantity_max is null or quantity_max between quantity and 100000000),
  requirements jsonb not null default '{}' check (jsonb_typeof(requirements) = 'object'),
  baseline_unit_price_yen bigint not null check (baseline_unit_price_yen >= 0),
  baseline_source text not null check (baseline_source in ('current_contract', 'standalone_quote', 'list_price')),
  max_unit_price_yen bigint check (max_unit_price_yen is null or max_unit_price_yen > 0),
  budget_status text not null check (budget_status in ('planned', 'requested', 'approved')),
  delivery_date date,
  contact_name text check (length(contact_name) <= 200),
  contact_email text check (length(contact_email) <= 200),
  status text not null default 'active' check (status in ('active', 'withdrawn')),
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  withdrawn_at timestamptz,
  primary key (municipality_code, need_id),
  foreign key (organiser_code, round_id) references procurement_rounds (organiser_code, round_id)
);
create index procurement_needs_round on procurement_needs (organiser_code, round_id, category_code);
alter table procurement_needs enable row level security;
alter table procurement_needs force row level security;
-- A municipality sees its own needs, a prefecture those of its municipalities, an organiser all of its round.
create policy procurement_needs_read on procurement_needs for select to kyodo_api
  using (app.can_see_lg(municipality_code) or app.is_organiser(organiser_code));
create policy procurement_needs_insert on procurement_needs for insert to kyodo_api
  with check (app.can_write_lg(municipality_code) and exists (
    select 1 from procurement_rounds r
     where r.organiser_code = procurement_needs.organiser_code and r.round_id = procurement_needs.round_id
       and left(procurement_needs.municipality_code, 2) = any(r.prefectures)
       and procurement_needs.category_code = any(r.category_codes)));
create policy procurement_needs_update on procurement_needs for update to kyodo_api
  using (app.can_write_lg(municipality_code)) with check (app.can_write_lg(municipality_code));
create policy procurement_needs_owner_pool on procurement_needs for select to kyodo_owner using (true);
grant select, insert, update on procurement_needs to kyodo_api;

-- Every version of every need, written by a trigger so no code path can skip it.
create table procurement_need_versions (
  municipality_code lgcode not null,
  need_id uuid not null,
  version integer not null,
  change text not null check (change in ('created', 'updated', 'withdrawn')),
  snapshot jsonb not null,
  recorded_at timestamptz not null default now(),
  primary key (municipality_code, need_id, version),
  foreign key (municipality_code, need_id) references procurement_needs (municipality_code, need_id)
);
alter table procurement_need_versions enable row level security;
alter table procurement_need_versions force row level security;
create policy procurement_need_versions_read on procurement_need_versions for select to kyodo_api
  using (exists (select 1 from procurement_needs n
                  where n.municipality_code = procurement_need_versions.municipality_code
                    and n.need_id = procurement_need_versions.need_id));
create policy procurement_need_versions_insert on procurement_need_versions for insert to kyodo_api
  with check (app.can_write_lg(municipality_code));
grant select, insert on procurement_need_versions to kyodo_api;

create function app.record_need_version() returns trigger
language plpgsql as $$
begin
  insert into procurement_need_versions (municipality_code, need_id, version, change, snapshot)
  values (new.municipality_code, new.need_id, new.version,
          case when tg_op = 'INSERT' then 'created'
               when new.status = 'withdrawn' and old.status <> 'withdrawn' then 'withdrawn'
               else 'updated' end,
          to_jsonb(new));
  return new;
end
$$;
create trigger procurement_needs_version after insert or update on procurement_needs
  for each row execute function app.record_need_version();

create table procurement_tenders (
  organiser_code text not null,
  tender_id uuid not null default gen_random_uuid(),
  round_id uuid not null,
  category_code text not null references procurement_categories(category_code),
  title text not null check (length(title) between 1 and 300),
  -- The specification every member's hard requirements allow: one offer can meet them all.
  requirements jsonb not null default '{}' check (jsonb_typeof(requirements) = 'object'),
  status text not null default 'planned'
    check (status in ('planned', 'active', 'awarded', 'contracted', 'cancelled', 'unsuccessful')),
  min_participants integer not null check (min_participants >= 1),
  min_quantity integer not null check (min_quantity >= 1),
  process_cost_yen bigint not null check (process_cost_yen >= 0),
  lot_scheme text not null check (lot_scheme in ('single', 'prefecture')),
  supplier_name text,
  supplier_id text,
  awarded_unit_price_yen bigint check (awarded_unit_price_yen is null or awarded_unit_price_yen > 0),
  bid_curve jsonb check (bid_curve is null or jsonb_typeof(bid_curve) = 'array'),
  awarded_at timestamptz,
  version integer not null default 1,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (organiser_code, tender_id),
  foreign key (organiser_code, round_id) references procurement_rounds (organiser_code, round_id),
  constraint awarded_tender_has_supplier check (
    status not in ('awarded', 'contracted') or (supplier_name is not null and awarded_unit_price_yen is not null))
);
create index procurement_tenders_round on procurement_tenders (organiser_code, round_id);
alter table procurement_tenders enable row level security;
alter table procurement_tenders force row level security;
-- A tender is as visible as its round (the subquery meets the rounds' own policy).
create policy procurement_tenders_read on procurement_tenders for select to kyodo_api
  using (exists (select 1 from procurement_rounds r
                  where r.organiser_code = procurement_tenders.organiser_code
                    and r.round_id = procurement_tenders.round_id));
create policy procurement_tenders_insert on procurement_tenders for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
create policy procurement_tenders_update on procurement_tenders for update to kyodo_api
  using (app.is_organiser(organiser_code)) with check (app.is_organiser(organiser_code));
grant select, insert, update on procurement_tenders to kyodo_api;

create table procurement_lots (
  organiser_code text not null,
  tender_id uuid not null,
  lot_id text not null check (lot_id ~ '^[A-Za-z0-9-]{1,40}$'),
  title text not null,
  prefecture char(2),
  primary key (organiser_code, tender_id, lot_id),
  foreign key (organiser_code, tender_id) references procurement_tenders (organiser_code, tender_id)
);
alter table procurement_lots enable row level security;
alter table procurement_lots force row level security;
create policy procurement_lots_read on procurement_lots for select to kyodo_api
  using (exists (select 1 from procurement_tenders t
                  where t.organiser_code = procurement_lots.organiser_code and t.tender_id = procurement_lots.tender_id));
create policy procurement_lots_insert on procurement_lots for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
grant select, insert on procurement_lots to kyodo_api;

-- Which needs a tender pools, and in which lot. Membership is public to the round; quantities and prices
-- stay on the needs, under their own policy.
create table procurement_tender_needs (
  organiser_code text not null,
  tender_id uuid not null,
  municipality_code lgcode not null,
  need_id uuid not null,
  lot_id text not null,
  primary key (organiser_code, tender_id, municipality_code, need_id),
  -- A need is pooled into one tender at most.
  unique (municipality_code, need_id),
  foreign key (organiser_code, tender_id, lot_id) references procurement_lots (organiser_code, tender_id, lot_id),
  foreign key (municipality_code, need_id) references procurement_needs (municipality_code, need_id)
);
alter table procurement_tender_needs enable row level security;
alter table procurement_tender_needs force row level security;
create policy procurement_tender_needs_read on procurement_tender_needs for select to kyodo_api
  using (exists (select 1 from procurement_tenders t
                  where t.organiser_code = procurement_tender_needs.organiser_code
                    and t.tender_id = procurement_tender_needs.tender_id));
create policy procurement_tender_needs_insert on procurement_tender_needs for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
create policy procurement_tender_needs_owner_pool on procurement_tender_needs for select to kyodo_owner
  using (true);
grant select, insert on procurement_tender_needs to kyodo_api;

-- One contract per participating municipality of an awarded tender.
create table procurement_contracts (
  organiser_code text not null,
  tender_id uuid not null,
  municipality_code lgcode not null,
  lot_id text not null,
  quantity integer not null check (quantity >= 1),
  unit_price_yen bigint not null check (unit_price_yen > 0),
  amount_yen bigint not null,
  status text not null default 'pending' check (status in ('pending', 'signed')),
  created_at timestamptz not null default now(),
  primary key (organiser_code, tender_id, municipality_code),
  foreign key (organiser_code, tender_id, lot_id) references procurement_lots (organiser_code, tender_id, lot_id),
  constraint contract_amount check (amount_yen = unit_price_yen * quantity)
);
alter table procurement_contracts enable row level security;
alter table procurement_contracts force row level security;
create policy procurement_contracts_read on procurement_contracts for select to kyodo_api
  using (app.is_organiser(organiser_code) or app.can_see_lg(municipality_code));
create policy procurement_contracts_insert on procurement_contracts for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
create policy procurement_contracts_update on procurement_contracts for update to kyodo_api
  using (app.is_organiser(organiser_code)) with check (app.is_organiser(organiser_code));
grant select, insert, update on procurement_contracts to kyodo_api;

-- Every need of a round the caller may see, without prices: pooled totals are shared with all
-- participants while baseline and maximum prices stay behind the needs' own policy.
create function app.procurement_pool(p_organiser text, p_round uuid)
returns table (need_id uuid, municipality_code text, category_code text, quantity integer, quantity_max integer,
               requirements jsonb, status text, created_at timestamptz, tender_id uuid, lot_id text)
language sql stable security definer set search_path = public, pg_temp as $$
  select n.need_id, n.municipality_code::text, n.category_code, n.quantity, n.quantity_max, n.requirements,
         n.status, n.created_at, tn.tender_id, tn.lot_id
    from procurement_rounds r
    join procurement_needs n on n.organiser_code = r.organiser_code and n.round_id = r.round_id
    left join procurement_tender_needs tn on tn.municipality_code = n.municipality_code and tn.need_id = n.need_id
   where r.organiser_code = p_organiser and r.round_id = p_round
     and app.can_see_round(r.organiser_code, r.prefectures)
   order by n.category_code, n.municipality_code, n.created_at, n.need_id
$$;
revoke all on function app.procurement_pool(text, uuid) from public;
grant execute on function app.procurement_pool(text, uuid) to kyodo_api;
