package ledger

import (
	"context"
	"fmt"
)

// MaxPartitions bounds `ledger migrate --partitions`.
const MaxPartitions = 1024

// PartitionReport says what Partition did.
type PartitionReport struct {
	// From and To are the partition counts before and after (0: one plain
	// table).
	From, To int
	// Rows is the number of entries moved.
	Rows int64
}

// Partitions returns how many hash partitions ledger_chain has (0: a plain
// table, and always 0 on SQLite).
func (s *Store) Partitions(ctx context.Context) (int, error) {
	return s.partitions(ctx, s.db)
}

func (s *Store) partitions(ctx context.Context, q queryer) (int, error) {
	if s.dialect != Postgres {
		return 0, nil
	}
	var n int
	err := q.QueryRowContext(ctx, `SELECT count(i.inhrelid) FROM pg_catalog.pg_class c
		JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace AND ns.nspname = current_schema()
		LEFT JOIN pg_catalog.pg_inherits i ON i.inhparent = c.oid
		WHERE c.relname = 'ledger_chain' AND c.relkind = 'p'`).Scan(&n)
	if err != nil {
		return 0, s.dbErr("count the ledger's partitions", err)
	}
	return n, nil
}

// Partition lays a PostgreSQL v2 ledger out as a table hash-partitioned by
// tenant into n partitions (migrations/ledger_v2_partition.sql), or, with
// n = 0, as one plain table again (ledger_v2_unpartition.sql), moving every
// entry unchanged in one transaction: a failure changes nothing. Going from
// one partition count to another passes through the plain table. The
// schema version stays 2: the layout changes, not the entries or hashes.
// It needs schema v2 (ErrNoSchema) and PostgreSQL (ErrBadRecord on SQLite,
// which has no partitions).
func (s *Store) Partition(ctx context.Context, n int) (PartitionReport, error) {
	if s.dialect != Postgres {
		return PartitionReport{}, fmt.Errorf("%w: --partitions: %s has no table partitions; partition a PostgreSQL ledger", ErrBadRecord, s.dialect)
	}
	if n < 0 || n > MaxPartitions {
		return PartitionReport{}, fmt.Errorf("%w: --partitions %d: expected 0 (one plain table) to %d", ErrBadRecord, n, MaxPartitions)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return PartitionReport{}, s.dbErr("begin", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7277034711)`); err != nil {
		return PartitionReport{}, s.dbErr("lock the schema", err)
	}
	if v, err := s.version(ctx, tx); err != nil {
		return PartitionReport{}, err
	} else if v != 2 {
		return PartitionReport{}, fmt.Errorf("%w: the ledger is at schema v%d; run `releasegate ledger migrate` first", ErrNoSchema, v)
	}
	rep := PartitionReport{}
	if rep.From, err = s.partitions(ctx, tx); err != nil {
		return rep, err
	}
	rep.To = rep.From
	if rep.From == n {
		return rep, nil
	}
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM ledger_chain`).Scan(&rep.Rows); err != nil {
		return rep, s.dbErr("count the entries", err)
	}
	// The triggers are created again after the rows are in: moved rows are
	// already chained, and checking each against the last would cost a
	// lookup per row.
	steps := []string{}
	if rep.From > 0 {
		steps = append(steps, "ledger_v2_unpartition.sql")
	}
	if n > 0 {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`SET LOCAL releasegate.partitions = '%d'`, n)); err != nil {
			return rep, s.dbErr("set the partition count", err)
		}
		steps = append(steps, "ledger_v2_partition.sql")
	}
	for _, f := range append(steps, "ledger_v2.sql", "ledger_v2_audit.sql") {
		if err := s.exec(ctx, tx, f); err != nil {
			return rep, err
		}
	}
	if err := tx.Commit(); err != nil {
		return rep, s.dbErr("commit the new layout", err)
	}
	rep.To = n
	return rep, nil
}
