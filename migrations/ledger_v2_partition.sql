-- releasegate ledger v2, hash-partitioned layout (PostgreSQL). Run by
-- `releasegate ledger migrate --partitions N` in the migration's
-- transaction after SET LOCAL releasegate.partitions = 'N'; then
-- ledger_v2.sql (the append and append-only triggers on the parent, which
-- PostgreSQL clones to every partition) and ledger_v2_audit.sql (the view
-- and validate_hash_chain) run again. ledger_v2_unpartition.sql undoes it.
--
-- ledger_chain becomes PARTITION BY HASH (tenant) with N partitions
-- ledger_chain_p0..ledger_chain_pN-1: every tenant's whole chain lives in one
-- partition, so the primary key (tenant, seq), the append trigger's head
-- lookup, and every verify or COPY of a tenant prune to that partition
-- (docs/ledger.md, "PostgreSQL layout for size", says why not seq ranges).
-- The rows are moved in (tenant, seq) order, the entry hashes untouched.
DROP VIEW IF EXISTS provenance_ledger_v2;
ALTER TABLE ledger_chain RENAME TO ledger_chain_unpartitioned;
ALTER INDEX ledger_chain_pkey RENAME TO ledger_chain_unpartitioned_pkey;
CREATE TABLE ledger_chain (
    LIKE ledger_chain_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (tenant, seq)
) PARTITION BY HASH (tenant);
DO $$
DECLARE
    n int := current_setting('releasegate.partitions')::int;
BEGIN
    FOR i IN 0 .. n - 1 LOOP
        EXECUTE format('CREATE TABLE ledger_chain_p%s PARTITION OF ledger_chain FOR VALUES WITH (MODULUS %s, REMAINDER %s)', i, n, i);
        -- Statement triggers are not cloned: TRUNCATE of one partition is
        -- rejected by its own.
        EXECUTE format('CREATE TRIGGER ledger_chain_no_truncate BEFORE TRUNCATE ON ledger_chain_p%s FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change()', i);
    END LOOP;
END
$$;
INSERT INTO ledger_chain SELECT * FROM ledger_chain_unpartitioned ORDER BY tenant, seq;
DROP TABLE ledger_chain_unpartitioned;
