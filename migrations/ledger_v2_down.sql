-- releasegate ledger v2 -> v1 (PostgreSQL), without loss: every entry's
-- tenant, time and payload go back to the v1 table in the order the up
-- migration reads them (ts, tenant, seq); kinds other than "entry", which v1
-- has no column for, are kept in ledger_v1_kinds, which the up migration
-- reads back. Runs only when ledger_chain exists (the Go migrator checks).
CREATE TABLE IF NOT EXISTS ledger_entries (
    id      bigserial   PRIMARY KEY,
    tenant  text        NOT NULL,
    ts      timestamptz NOT NULL,
    payload jsonb       NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_v1_kinds (
    id   bigint PRIMARY KEY,
    kind text   NOT NULL
);
CREATE TEMP TABLE ledger_down ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY c.ts, c.tenant, c.seq)
               + coalesce((SELECT max(id) FROM ledger_entries), 0) AS id,
           c.tenant, c.ts, c.kind, c.payload
      FROM ledger_chain c;
INSERT INTO ledger_entries (id, tenant, ts, payload)
    SELECT id, tenant, ts, payload::jsonb FROM ledger_down ORDER BY id;
INSERT INTO ledger_v1_kinds (id, kind)
    SELECT id, kind FROM ledger_down WHERE kind <> 'entry';
SELECT setval(pg_get_serial_sequence('ledger_entries', 'id'),
              greatest(coalesce((SELECT max(id) FROM ledger_entries), 0), 1),
              (SELECT count(*) > 0 FROM ledger_entries));
DROP TABLE ledger_chain;
DROP FUNCTION IF EXISTS validate_hash_chain(text);
DROP FUNCTION IF EXISTS ledger_entry_hash(text, bigint, timestamptz, text, bytea, text);
DROP FUNCTION IF EXISTS ledger_check_append();
DROP FUNCTION IF EXISTS ledger_reject_change();
DELETE FROM ledger_schema;
INSERT INTO ledger_schema (version) VALUES (1);
