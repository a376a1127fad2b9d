-- releasegate ledger v2, the auditor's SQL (PostgreSQL), applied after
-- ledger_v2.sql; ledger_v2_audit_down.sql removes it. Idempotent. It gives
-- psql users the release checklist's two commands:
--
--   SELECT COUNT(*) FROM provenance_ledger_v2;
--   SELECT validate_hash_chain('acme');
--
-- provenance_ledger_v2 is every entry of every tenant, hashes in lowercase
-- hex.
DROP VIEW IF EXISTS provenance_ledger_v2;
CREATE VIEW provenance_ledger_v2 AS
    SELECT c.tenant, c.seq, c.ts, c.kind, c.payload,
           encode(c.prev_hash, 'hex') AS prev_hash, encode(c.hash, 'hex') AS hash
      FROM ledger_chain c;

-- ledger_chain_check finds the first break in a tenant's chain in one
-- set-based query, checking each entry in seq order as the Go verifier
-- does: seq-gap (the expected seq is missing; first_bad_seq is the missing
-- seq), broken-link (prev_hash is not the previous entry's hash),
-- hash-mismatch (the stored hash is not ledger_entry_hash of the row),
-- time-order (time before the previous entry's). It returns the number of
-- intact entries before the break (all of them for an intact chain), and
-- the first bad seq and kind, or NULLs. (The Go verifier also checks that
-- payloads are canonical JSON.)
DROP FUNCTION IF EXISTS validate_hash_chain(text);
CREATE OR REPLACE FUNCTION ledger_chain_check(p_tenant text)
RETURNS TABLE (entries bigint, first_bad_seq bigint, problem text)
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    WITH chain AS (
        SELECT row_number() OVER w AS n, c.seq, c.ts, c.kind, c.payload, c.prev_hash, c.hash,
               lag(c.hash) OVER w AS lag_hash, lag(c.ts) OVER w AS lag_ts
          FROM ledger_chain c
         WHERE c.tenant = p_tenant
        WINDOW w AS (ORDER BY c.seq)
    ), checked AS (
        SELECT n,
               CASE WHEN seq <> n THEN n ELSE seq END AS seq,
               CASE WHEN seq <> n THEN 'seq-gap'
                    WHEN prev_hash <> coalesce(lag_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
                        THEN 'broken-link'
                    WHEN ledger_entry_hash(p_tenant, seq, ts, kind, prev_hash, payload) <> hash THEN 'hash-mismatch'
                    WHEN ts < lag_ts THEN 'time-order'
               END AS problem
          FROM chain
    ), first_bad AS (
        SELECT n, seq, problem FROM checked WHERE problem IS NOT NULL ORDER BY n LIMIT 1
    )
    SELECT coalesce((SELECT n - 1 FROM first_bad), (SELECT count(*) FROM ledger_chain c WHERE c.tenant = p_tenant)),
           (SELECT seq FROM first_bad),
           (SELECT problem FROM first_bad)
$$;

-- validate_hash_chain('acme') is the verdict on one tenant's chain, one
-- line of text:
--   valid: 16000 entries, seq 1..16000
--   invalid: seq 42 hash-mismatch; the 41 entries before it are intact
--   invalid: tenant acme has no entries
-- A script checks it with LIKE 'valid:%'.
CREATE FUNCTION validate_hash_chain(tenant text) RETURNS text
LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
    SELECT CASE
               WHEN r.problem IS NOT NULL THEN
                   format('invalid: seq %s %s; the %s entries before it are intact', r.first_bad_seq, r.problem, r.entries)
               WHEN r.entries = 0 THEN format('invalid: tenant %s has no entries', $1)
               ELSE format('valid: %s entries, seq 1..%s', r.entries, r.entries)
           END
      FROM ledger_chain_check($1) r
$$;
