-- Why (issue 17): reads move to streaming standbys (DATABASE_REPLICA_URLS, registry/db/replicas.py), and a
-- key that has just written must still read its own write. A write answers with the WAL position after its
-- commit (header Kyodo-WAL-Position) and a client may send it back; most do not (a POST then an immediate
-- GET is what the tests and every sync script do). So the primary remembers each key's last write position
-- here, one row per key (a few thousand keys: kilobytes), and the statement that counts a replica-served
-- read on the primary (it must: a standby cannot write the rate-limit counter) reads it in the same round
-- trip. A replica serves that read only once pg_last_wal_replay_lsn() has reached it, whichever of the
-- server's workers took the write: an in-process memory would be wrong across `--workers 4`.
create table app.key_writes (
  key_id uuid primary key,
  lsn pg_lsn not null,
  at timestamptz not null default now()
);

-- Called after a write's COMMIT, on the same connection: pg_current_wal_insert_lsn() is then at or past the
-- commit record's end, so a standby that has replayed this far sees the write. greatest(): two writes of
-- one key noted out of order never move the position back.
create function app.note_write(p_key_id uuid)
returns text
language sql volatile security definer set search_path = public, pg_temp as $$
  insert into app.key_writes as w (key_id, lsn) values (p_key_id, pg_current_wal_insert_lsn())
  on conflict (key_id) do update set lsn = greatest(w.lsn, excluded.lsn), at = now()
  returning w.lsn::text
$$;
revoke all on function app.note_write(uuid) from public;
grant execute on function app.note_write(uuid) to kyodo_api;

create function app.key_write_lsn(p_key_id uuid)
returns text
language sql stable security definer set search_path = public, pg_temp as $$
  select w.lsn::text from app.key_writes w where w.key_id = p_key_id
$$;
revoke all on function app.key_write_lsn(uuid) from public;
grant execute on function app.key_write_lsn(uuid) to kyodo_api;
