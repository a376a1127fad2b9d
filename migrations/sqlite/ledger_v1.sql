-- releasegate ledger schema v1 (SQLite): a plain table with no chain.
-- ts is RFC 3339 text in UTC.
CREATE TABLE IF NOT EXISTS ledger_entries (
    id      INTEGER PRIMARY KEY,
    tenant  TEXT NOT NULL,
    ts      TEXT NOT NULL,
    payload TEXT NOT NULL
);
