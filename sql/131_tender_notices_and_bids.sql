-- Why (issue 16): a formed tender was never put to suppliers; the organiser typed the winner in. Here a
-- tender is published as a notice (lots, pooled quantities, requirements, delivery, bid deadline),
-- suppliers ask questions privately and read the organiser's answers anonymised, and submit sealed bids
-- per lot. Sealed means row security keyed on the deadline: before it, a bid is visible to the bidding
-- supplier alone, not to the organiser, not to an admin, not to the API role acting for anyone else.
-- After the deadline the organiser records the opening, and only then do the bids show, all together.
-- An award from the bids writes one lot award per lot and one contract per buying municipality.

-- A published tender. Suppliers cannot read needs (prices and contacts stay with the municipalities), so
-- the notice carries its own copy of what they bid on: lots with their pooled quantities at publication.
create table procurement_tender_notices (
  organiser_code text not null,
  tender_id uuid not null,
  title text not null check (length(title) between 1 and 300),
  category_code text not null references procurement_categories(category_code),
  unit_code text not null,
  unit_name text not null,
  requirements jsonb not null check (jsonb_typeof(requirements) = 'object'),
  -- [{"lot_id": "LOT-13", "title": "...", "quantity": 1234, "buyers": 62}]
  lots jsonb not null check (jsonb_typeof(lots) = 'array' and jsonb_array_length(lots) >= 1),
  delivery_date date,
  description text check (length(description) <= 4000),
  bid_deadline timestamptz not null,
  published_at timestamptz not null default now(),
  opened_at timestamptz,
  primary key (organiser_code, tender_id),
  foreign key (organiser_code, tender_id) references procurement_tenders (organiser_code, tender_id),
  constraint notice_deadline_after_publication check (bid_deadline > published_at),
  constraint notice_opened_after_deadline check (opened_at is null or opened_at >= bid_deadline)
);
alter table procurement_tender_notices enable row level security;
alter table procurement_tender_notices force row level security;
-- Every supplier reads every notice (an open procedure); others as far as they see the tender.
create policy procurement_tender_notices_read on procurement_tender_notices for select to kyodo_api
  using (app.role() = 'supplier' or exists (
    select 1 from procurement_tenders t
     where t.organiser_code = procurement_tender_notices.organiser_code
       and t.tender_id = procurement_tender_notices.tender_id));
create policy procurement_tender_notices_insert on procurement_tender_notices for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
create policy procurement_tender_notices_update on procurement_tender_notices for update to kyodo_api
  using (app.is_organiser(organiser_code)) with check (app.is_organiser(organiser_code));
create policy procurement_tender_notices_owner on procurement_tender_notices for select to kyodo_owner
  using (true);
grant select, insert, update on procurement_tender_notices to kyodo_api;

-- May bids and questions still come in: the tender active and its deadline ahead (in this transaction's time)?
create function app.bidding_open(p_organiser text, p_tender uuid) returns boolean
language sql stable security definer set search_path = public, pg_temp as $$
  select exists (select 1 from procurement_tender_notices n
                   join procurement_tenders t on t.organiser_code = n.organiser_code and t.tender_id = n.tender_id
                  where n.organiser_code = p_organiser and n.tender_id = p_tender and now() < n.bid_deadline
                    and t.status = 'active')
$$;
-- The definer functions here read tenders whoever calls (their own conditions decide what they answer).
create policy procurement_tenders_owner_read on procurement_tenders for select to kyodo_owner using (true);
-- Have the bids been opened: deadline passed and the opening recorded?
create function app.bids_opened(p_organiser text, p_tender uuid) returns boolean
language sql stable security definer set search_path = public, pg_temp as $$
  select exists (select 1 from procurement_tender_notices n
                  where n.organiser_code = p_organiser and n.tender_id = p_tender
                    and n.opened_at is not null and now() >= n.bid_deadline)
$$;
revoke all on function app.bidding_open(text, uuid) from public;
revoke all on function app.bids_opened(text, uuid) from public;
grant execute on function app.bidding_open(text, uuid) to kyodo_api;
grant execute on function app.bids_opened(text, uuid) to kyodo_api;

-- Questions a supplier asks privately; the organiser answers, and the answer is published to every
-- supplier without the asker (app.tender_answers), in the wording the organiser publishes it.
create table procurement_tender_questions (
  organiser_code text not null,
  tender_id uuid not null,
  question_id uuid not null default gen_random_uuid(),
  supplier_code text not null references suppliers(corporate_number),
  question text not null check (length(question) between 1 and 4000),
  asked_at timestamptz not null default now(),
  published_question text check (length(published_question) between 1 and 4000),
  answer text check (length(answer) between 1 and 8000),
  answered_at timestamptz,
  primary key (organiser_code, tender_id, question_id),
  unique (question_id),
  foreign key (organiser_code, tender_id) references procurement_tender_notices (organiser_code, tender_id),
  constraint answered_in_full check ((answer is null) = (answered_at is null))
);
alter table procurement_tender_questions enable row level security;
alter table procurement_tender_questions force row level security;
create policy procurement_tender_questions_read on procurement_tender_questions for select to kyodo_api
  using ((app.role() = 'supplier' and supplier_code = app.tenant()) or app.is_organiser(organiser_code));
create policy procurement_tender_questions_ask on procurement_tender_questions for insert to kyodo_api
  with check (app.role() = 'supplier' and supplier_code = app.tenant() and app.bidding_open(organiser_code, tender_id));
create policy procurement_tender_questions_answer on procurement_tender_questions for update to kyodo_api
  using (app.is_organiser(organiser_code)) with check (app.is_organiser(organiser_code));
create policy procurement_tender_questions_owner on procurement_tender_questions for select to kyodo_owner
  using (true);
grant select, insert, update on procurement_tender_questions to kyodo_api;

-- The published answers of a tender, without who asked: for every supplier and whoever sees the tender.
create function app.tender_answers(p_organiser text, p_tender uuid)
returns table (question_id uuid, question text, answer text, answered_at timestamptz)
language sql stable security definer set search_path = public, pg_temp as $$
  select q.question_id, coalesce(q.published_question, q.question), q.answer, q.answered_at
    from procurement_tender_questions q
    join procurement_tender_notices n on n.organiser_code = q.organiser_code and n.tender_id = q.tender_id
    join procurement_tenders t on t.organiser_code = n.organiser_code and t.tender_id = n.tender_id
    join procurement_rounds r on r.organiser_code = t.organiser_code and r.round_id = t.round_id
   where q.organiser_code = p_organiser and q.tender_id = p_tender and q.answer is not null
     and (app.role() = 'supplier' or app.can_see_round(r.organiser_code, r.prefectures))
   order by q.answered_at, q.question_id
$$;
revoke all on function app.tender_answers(text, uuid) from public;
grant execute on function app.tender_answers(text, uuid) to kyodo_api;

-- One bid per supplier and lot: replaced in place (version + 1) or withdrawn until the deadline.
create table procurement_bids (
  supplier_code text not null references suppliers(corporate_number),
  organiser_code text not null,
  tender_id uuid not null,
  lot_id text not null,
  bid_id uuid not null default gen_random_uuid(),
  unit_price_yen bigint check (unit_price_yen is null or unit_price_yen > 0),
  price_curve jsonb check (price_curve is null or jsonb_typeof(price_curve) = 'array'),
  -- attribute -> the value offered, one per requirement of the tender
  offer jsonb not null default '{}' check (jsonb_typeof(offer) = 'object'),
  status text not null default 'submitted' check (status in ('submitted', 'withdrawn')),
  version integer not null default 1,
  submitted_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (supplier_code, organiser_code, tender_id, lot_id),
  unique (bid_id),
  foreign key (organiser_code, tender_id) references procurement_tender_notices (organiser_code, tender_id),
  foreign key (organiser_code, tender_id, lot_id) references procurement_lots (organiser_code, tender_id, lot_id),
  constraint bid_has_one_price check ((unit_price_yen is null) <> (price_curve is null))
);
alter table procurement_bids enable row level security;
alter table procurement_bids force row level security;
-- Sealed: the bidder always; the organiser (prefecture or admin) only once the deadline passed and the
-- opening was recorded. No other role reads bids through the API at all.
create policy procurement_bids_read on procurement_bids for select to kyodo_api
  using ((app.role() = 'supplier' and supplier_code = app.tenant())
         or (app.is_organiser(organiser_code) and app.bids_opened(organiser_code, tender_id)));
create policy procurement_bids_submit on procurement_bids for insert to kyodo_api
  with check (app.role() = 'supplier' and supplier_code = app.tenant() and app.bidding_open(organiser_code, tender_id));
create policy procurement_bids_replace on procurement_bids for update to kyodo_api
  using (app.role() = 'supplier' and supplier_code = app.tenant() and app.bidding_open(organiser_code, tender_id))
  with check (app.role() = 'supplier' and supplier_code = app.tenant() and app.bidding_open(organiser_code, tender_id));
grant select, insert, update on procurement_bids to kyodo_api;

-- The winning bid of each lot, written by the award from bids, with the price it gives for the lot.
create table procurement_lot_awards (
  organiser_code text not null,
  tender_id uuid not null,
  lot_id text not null,
  supplier_code text not null references suppliers(corporate_number),
  bid_id uuid not null references procurement_bids(bid_id),
  pooled_quantity integer not null check (pooled_quantity >= 1),
  unit_price_yen bigint not null check (unit_price_yen > 0),
  awarded_at timestamptz not null default now(),
  primary key (organiser_code, tender_id, lot_id),
  foreign key (organiser_code, tender_id, lot_id) references procurement_lots (organiser_code, tender_id, lot_id)
);
alter table procurement_lot_awards enable row level security;
alter table procurement_lot_awards force row level security;
create policy procurement_lot_awards_read on procurement_lot_awards for select to kyodo_api
  using ((app.role() = 'supplier' and supplier_code = app.tenant()) or exists (
    select 1 from procurement_tenders t
     where t.organiser_code = procurement_lot_awards.organiser_code and t.tender_id = procurement_lot_awards.tender_id));
create policy procurement_lot_awards_insert on procurement_lot_awards for insert to kyodo_api
  with check (app.is_organiser(organiser_code));
grant select, insert on procurement_lot_awards to kyodo_api;
