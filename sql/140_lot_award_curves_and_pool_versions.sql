-- Why (issue 16): a tender split into lots (lot_scheme 'prefecture') is awarded lot by lot, each to its own
-- winning bid at its own price for the lot's pooled quantity Q_L; the savings report priced every buyer at
-- the tender row's price (the winner of the largest lot). In tests/test_procurement_savings_lots.py (Tokyo's lot
-- 808 PCs won on a curve at ¥130,000, Saitama's 159 PCs at a flat ¥145,000 by another supplier) that put
-- Saitama's 6 buyers at ¥130,000: their realised savings read ¥6,654,000 instead of ¥4,269,000, ¥2,385,000
-- (= ¥15,000 x 159) too much. The report now prices each buyer on its lot's award
-- (registry/procurement/savings.py), which needs two things from the database:
--
-- * the winning curve of each lot, for the awarded pooling uplift W_L(q_m) - W_L(Q_L). The bid is sealed by
--   row security (only the organiser reads it, after the opening), while the round's pools and savings are
--   computed once per version for every caller who may see the round (summary.py); a lot award is visible
--   to all of them, so the curve the lot was awarded on is copied onto the award when it is written;
-- * a new pool version when a lot award changes: the award from bids writes them in the transaction that
--   awards the tender (which bumps the version already), but a lot award written or corrected on its own
--   must not leave a cached report on the old price. Contracts are written at the lot award's price in the
--   same transaction and the report does not read them, so they need no trigger.
alter table procurement_lot_awards add column price_curve jsonb;

-- The owner reads and corrects awards (backfill below, fixes by the operator), as it does bids (sql/170).
create policy procurement_lot_awards_owner on procurement_lot_awards for all to kyodo_owner
  using (true) with check (true);

-- Awards made before this migration: their bid's curve (unit-price bids have none). No figure changes
-- with the copy (the report did not read it yet), so no event or pool version follows it.
alter table procurement_lot_awards disable trigger user;
update procurement_lot_awards a set price_curve = b.price_curve
  from procurement_bids b where b.bid_id = a.bid_id and a.price_curve is null;
alter table procurement_lot_awards enable trigger user;

create trigger procurement_lot_awards_pool_version_ins after insert on procurement_lot_awards
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions_by_tender();
create trigger procurement_lot_awards_pool_version_upd after update on procurement_lot_awards
  referencing new table as changed_rows for each statement execute function app.bump_pool_versions_by_tender();
create trigger procurement_lot_awards_pool_version_del after delete on procurement_lot_awards
  referencing old table as changed_rows for each statement execute function app.bump_pool_versions_by_tender();
