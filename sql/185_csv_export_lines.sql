-- Why (issue 13): Tokyo's 15,170 assets as one streamed CSV took 0.77 s alone and 3.6 s p50 at 8 concurrent
-- (load 3-10), of which 567 ms per export was Python CPU turning 29 cells a row into text (registry/exports
-- table.csv_text, then csv.writer) and 238 ms the database, which also wrote every row's GeoJSON the CSV never
-- shows. These functions let PostgreSQL write each CSV line itself (registry/assets/export_queries.py), byte
-- for byte as the Python writer does; tests/test_csv_lines.py checks them against it, value by value.
--
-- All but app.py_fixed7 are plain SQL expressions, so the planner inlines them (no call per value): a
-- non-inlined SQL function costs microseconds a call, and an export calls these ~400,000 times.

-- One text cell as csv_text + csv.writer (QUOTE_MINIMAL, lineterminator \r\n) write it: text a spreadsheet
-- would evaluate (starting = + - @ tab CR) gets a leading apostrophe (registry/spreadsheet.py), and a cell
-- holding a comma, a quote, CR or LF is quoted with its quotes doubled. Null is the empty cell.
create function app.csv_cell(t text) returns text
language sql immutable parallel safe as $$
  select case when t is null then ''
              -- most cells: one test, and the text as it is
              when t !~ E'^[-=+@\t\r]|[,"\r\n]' then t
              when t ~ E'[,"\r\n]'
              then '"' || replace(case when t ~ E'^[-=+@\t\r]' then '''' || t else t end, '"', '""') || '"'
              else '''' || t end
$$;

-- Python's f"{v:.7f}".rstrip("0").rstrip(".") of a float8, exactly: the binary value's own decimal
-- expansion (float8send's bits), rounded half to even at 7 decimals. The slow way, for the values the
-- inlined functions below cannot decide cheaply (near a half at the 8th decimal, large or tiny magnitudes,
-- -0).
create function app.py_fixed7(v float8) returns text
language plpgsql immutable strict parallel safe as $$
declare
  bits bigint := ('x' || encode(float8send(v), 'hex'))::bit(64)::bigint;
  e int := ((bits >> 52) & 2047)::int;
  m numeric := (bits & 4503599627370495)::numeric;
  n numeric;
  q numeric;
  t numeric;
  d text;
begin
  if e = 2047 then
    return case when m <> 0 then 'nan' when bits < 0 then '-inf' else 'inf' end;
  end if;
  if e = 0 then e := 1; else m := m + 4503599627370496; end if;
  e := e - 1075;
  -- t: the value times 10^7, rounded half to even, in integer arithmetic (numeric products, integer powers
  -- and div() are exact); the value is m * 2^e, and for e < 0 that is m * 5^-e * 10^e.
  if e >= 0 then
    t := m * 2::numeric ^ e * 10000000;
  else
    n := m * 5::numeric ^ (-e);
    if -e <= 7 then
      t := n * 10::numeric ^ (7 + e);
    else
      q := 10::numeric ^ (-e - 7);
      t := div(n, q);
      if (n - t * q) * 2 > q or ((n - t * q) * 2 = q and mod(t, 2) = 1) then
        t := t + 1;
      end if;
    end if;
  end if;
  d := trunc(t)::text;
  d := lpad(d, greatest(length(d), 8), '0');  -- lpad alone would cut a longer text to 8
  d := rtrim(rtrim(left(d, -7) || '.' || right(d, 7), '0'), '.');
  return case when bits < 0 then '-' || d else d end;
end
$$;

-- A float8 cell (lon, lat, distance_m): Python's digits, from integer arithmetic where that is exact and from
-- app.py_fixed7 elsewhere (values under 1e-4 or from 1e5, and the rare ones within 1e-3 of a half at the 7th
-- decimal once multiplied by 10^7).
create function app.csv_float(v float8) returns text
language sql immutable parallel safe as $$
  select case when v is null then ''
              -- Most values (coordinates, distances): v * 10^7 in float8 is within 6e-5 of the exact product
              -- below 1e5, so away from a half (by more than 1e-3) its rounding is the exact value's, and
              -- numeric writes the digits; 1.1 -> 0.6 us a value (bench/EXPORTS.md).
              when abs(v) >= 1e-4 and abs(v) < 1e5 and abs(abs(v) * 1e7 - floor(abs(v) * 1e7) - 0.5) > 1e-3
              then trim_scale(round(v * 1e7)::bigint::numeric / 10000000)::text
              else app.py_fixed7(v) end
$$;

-- A numeric cell (heights, loads, distances, areas: numeric(7,2) to numeric(12,2)), which the Python writer
-- received as float8: below 4e8 the nearest double is within 3e-8 of the value, so 7 decimals give the value
-- itself without trailing zeros; above, the double's own digits (app.py_fixed7).
create function app.csv_num(n numeric) returns text
language sql immutable parallel safe as $$
  select case when n is null then ''
              when abs(n) < 4e8 then trim_scale(n)::text
              else app.py_fixed7(n::float8) end
$$;

-- A timestamptz cell as Python's datetime.isoformat() writes asyncpg's UTC value: microseconds only when
-- there are any, and +00:00.
create function app.csv_time(t timestamptz) returns text
language sql stable parallel safe as $$
  select case when t is null then ''
              else to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                   || case when to_char(t at time zone 'UTC', 'US') = '000000' then ''
                           else to_char(t at time zone 'UTC', '.US') end
                   || '+00:00' end
$$;

grant execute on function app.csv_cell(text), app.py_fixed7(float8), app.csv_float(float8), app.csv_num(numeric),
  app.csv_time(timestamptz) to kyodo_api;
