-- Why: app.enter_with_key (sql/058, sql/120) has had no caller since standby reads moved to
-- app.enter_local_with_key (sql/175); its copy of the key lookup is dropped with it. The lookup stays
-- written out in app.authenticate (sql/003), app.enter_session_with_key (sql/150) and
-- app.enter_local_with_key (sql/175). Having those two call app.authenticate was measured and not kept: a
-- security-definer SQL function with its own search_path is never inlined. With pgbench, one client, load
-- 2-3.5, latency per call: the session statement went from 0.063-0.067 ms to 0.096-0.101 ms, and BEGIN,
-- the local statement and COMMIT from 0.165-0.177 ms to 0.209-0.216 ms. Transaction scope runs that
-- statement on every request.
drop function app.enter_with_key(text, bytea);
