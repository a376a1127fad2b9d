-- Removes what ledger_v2_audit.sql adds (PostgreSQL); runs before
-- ledger_v2_down.sql. Idempotent.
DROP FUNCTION IF EXISTS validate_hash_chain(text);
DROP FUNCTION IF EXISTS ledger_chain_check(text);
DROP VIEW IF EXISTS provenance_ledger_v2;
