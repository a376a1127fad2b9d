-- releasegate ledger schema v2 (SQLite): the same semantics as the
-- PostgreSQL schema. ts is microseconds since the Unix epoch, UTC.
CREATE TABLE IF NOT EXISTS ledger_chain (
    tenant    TEXT    NOT NULL CHECK (length(CAST(tenant AS BLOB)) BETWEEN 1 AND 200 AND instr(tenant, char(10)) = 0),
    seq       INTEGER NOT NULL CHECK (seq >= 1),
    ts        INTEGER NOT NULL CHECK (ts >= 0 AND ts < 253402300800000000),
    kind      TEXT    NOT NULL CHECK (length(CAST(kind AS BLOB)) BETWEEN 1 AND 64 AND instr(kind, char(10)) = 0),
    payload   TEXT    NOT NULL CHECK (json_valid(payload)),
    prev_hash BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (tenant, seq)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ledger_schema (
    version INTEGER NOT NULL
);

CREATE TRIGGER IF NOT EXISTS ledger_chain_no_update BEFORE UPDATE ON ledger_chain
BEGIN
    SELECT RAISE(ABORT, 'ledger_chain is append-only: UPDATE rejected');
END;

CREATE TRIGGER IF NOT EXISTS ledger_chain_no_delete BEFORE DELETE ON ledger_chain
BEGIN
    SELECT RAISE(ABORT, 'ledger_chain is append-only: DELETE rejected');
END;

CREATE TRIGGER IF NOT EXISTS ledger_chain_append BEFORE INSERT ON ledger_chain
BEGIN
    SELECT RAISE(ABORT, 'ledger_chain: seq must follow the tenant''s last seq without a gap')
     WHERE NEW.seq <> coalesce((SELECT max(seq) FROM ledger_chain WHERE tenant = NEW.tenant), 0) + 1;
    SELECT RAISE(ABORT, 'ledger_chain: previous hash does not match the previous entry')
     WHERE NEW.prev_hash IS NOT coalesce((SELECT hash FROM ledger_chain WHERE tenant = NEW.tenant AND seq = NEW.seq - 1), zeroblob(32));
    SELECT RAISE(ABORT, 'ledger_chain: time is before the previous entry')
     WHERE NEW.ts < coalesce((SELECT ts FROM ledger_chain WHERE tenant = NEW.tenant AND seq = NEW.seq - 1), NEW.ts);
END;
