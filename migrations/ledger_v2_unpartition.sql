-- releasegate ledger v2: back from the hash-partitioned layout
-- (ledger_v2_partition.sql) to one plain table (PostgreSQL), run by
-- `releasegate ledger migrate --partitions 0`; ledger_v2.sql (the triggers)
-- and ledger_v2_audit.sql run again after it. The rows are moved in
-- (tenant, seq) order, the entry hashes untouched.
DROP VIEW IF EXISTS provenance_ledger_v2;
ALTER TABLE ledger_chain RENAME TO ledger_chain_partitioned;
ALTER INDEX ledger_chain_pkey RENAME TO ledger_chain_partitioned_pkey;
CREATE TABLE ledger_chain (
    LIKE ledger_chain_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (tenant, seq)
);
INSERT INTO ledger_chain SELECT * FROM ledger_chain_partitioned ORDER BY tenant, seq;
DROP TABLE ledger_chain_partitioned CASCADE;
