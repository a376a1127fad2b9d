-- releasegate ledger schema v1 (PostgreSQL): a plain table with no chain.
-- Kept for reference and for tests of the v1 -> v2 migration.
CREATE TABLE IF NOT EXISTS ledger_entries (
    id      bigserial   PRIMARY KEY,
    tenant  text        NOT NULL,
    ts      timestamptz NOT NULL,
    payload jsonb       NOT NULL
);
