-- Removes what ledger_v2_audit.sql adds (SQLite); runs before
-- ledger_v2_down.sql.
DROP VIEW IF EXISTS provenance_ledger_v2;
