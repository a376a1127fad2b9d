-- releasegate ledger schema v2 (PostgreSQL): a per-tenant hash chain.
-- Idempotent: every statement can run again on a v2 database.
-- The entry hash is defined in docs/ledger.md; ledger_entry_hash below is
-- its SQL form. Copying v1 rows into the chain needs RFC 8785 canonical JSON,
-- which `releasegate ledger migrate` computes; this file alone creates the
-- schema on an empty database.

CREATE TABLE IF NOT EXISTS ledger_chain (
    tenant    text        NOT NULL CHECK (octet_length(tenant) BETWEEN 1 AND 200 AND tenant !~ '[[:cntrl:]]'),
    seq       bigint      NOT NULL CHECK (seq >= 1),
    ts        timestamptz NOT NULL CHECK (ts >= '1970-01-01T00:00:00Z' AND ts < '10000-01-01T00:00:00Z'),
    kind      text        NOT NULL CHECK (octet_length(kind) BETWEEN 1 AND 64 AND kind !~ '[[:cntrl:]]'),
    payload   text        NOT NULL CHECK (payload::json IS NOT NULL),
    prev_hash bytea       NOT NULL CHECK (octet_length(prev_hash) = 32),
    hash      bytea       NOT NULL CHECK (octet_length(hash) = 32),
    PRIMARY KEY (tenant, seq)
);

CREATE TABLE IF NOT EXISTS ledger_schema (
    version int NOT NULL
);

-- Append-only: UPDATE, DELETE and TRUNCATE are rejected.
CREATE OR REPLACE FUNCTION ledger_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_chain is append-only: % rejected', TG_OP
        USING ERRCODE = 'restrict_violation',
              HINT = 'append a correcting entry instead';
END
$$;

-- Appends must continue the tenant's chain: next seq, previous hash, time
-- not going back. A seq or previous hash that does not continue the head is
-- a writer that read an old head (a lost race): serialization_failure, which
-- releasegate retries; a time going back is check_violation.
CREATE OR REPLACE FUNCTION ledger_check_append() RETURNS trigger
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    last record;
BEGIN
    SELECT c.seq, c.hash, c.ts INTO last
      FROM ledger_chain c WHERE c.tenant = NEW.tenant
     ORDER BY c.seq DESC LIMIT 1;
    IF NOT FOUND THEN
        IF NEW.seq <> 1 THEN
            RAISE EXCEPTION 'ledger_chain: tenant % starts at seq 1, got %', NEW.tenant, NEW.seq
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.prev_hash <> '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea THEN
            RAISE EXCEPTION 'ledger_chain: tenant % seq 1 must have the zero previous hash', NEW.tenant
                USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF NEW.seq <> last.seq + 1 THEN
        RAISE EXCEPTION 'ledger_chain: tenant % next seq is %, got %', NEW.tenant, last.seq + 1, NEW.seq
            USING ERRCODE = 'serialization_failure',
                  HINT = 'the writer read an old head: take the tenant''s lock, read the head again and retry';
    END IF;
    IF NEW.prev_hash <> last.hash THEN
        RAISE EXCEPTION 'ledger_chain: tenant % seq % previous hash does not match seq %', NEW.tenant, NEW.seq, last.seq
            USING ERRCODE = 'serialization_failure',
                  HINT = 'the writer read an old head: take the tenant''s lock, read the head again and retry';
    END IF;
    IF NEW.ts < last.ts THEN
        RAISE EXCEPTION 'ledger_chain: tenant % seq % time % is before seq % time %', NEW.tenant, NEW.seq, NEW.ts, last.seq, last.ts
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;

DROP TRIGGER IF EXISTS ledger_chain_no_change ON ledger_chain;
CREATE TRIGGER ledger_chain_no_change BEFORE UPDATE OR DELETE ON ledger_chain
    FOR EACH ROW EXECUTE FUNCTION ledger_reject_change();
DROP TRIGGER IF EXISTS ledger_chain_no_truncate ON ledger_chain;
CREATE TRIGGER ledger_chain_no_truncate BEFORE TRUNCATE ON ledger_chain
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_change();
DROP TRIGGER IF EXISTS ledger_chain_append ON ledger_chain;
CREATE TRIGGER ledger_chain_append BEFORE INSERT ON ledger_chain
    FOR EACH ROW EXECUTE FUNCTION ledger_check_append();

-- ledger_entry_hash is the entry hash of docs/ledger.md:
-- SHA-256("releasegate-ledger/v2" LF tenant LF seq LF time LF kind LF hex(prev) LF payload)
CREATE OR REPLACE FUNCTION ledger_entry_hash(p_tenant text, p_seq bigint, p_ts timestamptz,
                                             p_kind text, p_prev bytea, p_payload text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(convert_to(
        'releasegate-ledger/v2' || E'\n' || p_tenant || E'\n' || p_seq::text || E'\n' ||
        to_char(p_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || E'\n' ||
        p_kind || E'\n' || encode(p_prev, 'hex') || E'\n' || p_payload, 'UTF8'))
$$;

-- validate_hash_chain and the provenance_ledger_v2 view are in
-- ledger_v2_audit.sql, applied after this file.
