-- releasegate ledger v2, the auditor's SQL (SQLite): the same
-- provenance_ledger_v2 view as ../ledger_v2_audit.sql (time as RFC 3339
-- text, hashes in lowercase hex). SQLite has no SHA-256, so there is no
-- validate_hash_chain: use `releasegate ledger verify`.
DROP VIEW IF EXISTS provenance_ledger_v2;
CREATE VIEW provenance_ledger_v2 AS
    SELECT tenant, seq,
           strftime('%Y-%m-%dT%H:%M:%S', ts / 1000000, 'unixepoch') || '.' || printf('%06d', ts % 1000000) || 'Z' AS ts,
           kind, payload, lower(hex(prev_hash)) AS prev_hash, lower(hex(hash)) AS hash
      FROM ledger_chain;
