-- releasegate ledger v2 -> v1 (SQLite), without loss; see ../ledger_v2_down.sql.
CREATE TABLE IF NOT EXISTS ledger_entries (
    id      INTEGER PRIMARY KEY,
    tenant  TEXT NOT NULL,
    ts      TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_v1_kinds (
    id   INTEGER PRIMARY KEY,
    kind TEXT NOT NULL
);
CREATE TEMP TABLE ledger_down AS
    SELECT row_number() OVER (ORDER BY ts, tenant, seq)
               + coalesce((SELECT max(id) FROM ledger_entries), 0) AS id,
           tenant, ts, kind, payload
      FROM ledger_chain;
INSERT INTO ledger_entries (id, tenant, ts, payload)
    SELECT id, tenant,
           strftime('%Y-%m-%dT%H:%M:%S', ts / 1000000, 'unixepoch') || '.' || printf('%06d', ts % 1000000) || 'Z',
           payload
      FROM ledger_down ORDER BY id;
INSERT INTO ledger_v1_kinds (id, kind)
    SELECT id, kind FROM ledger_down WHERE kind <> 'entry';
DROP TABLE temp.ledger_down;
DROP TABLE ledger_chain;
DELETE FROM ledger_schema;
INSERT INTO ledger_schema (version) VALUES (1);
