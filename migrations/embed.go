// Package migrations holds the ledger's SQL schema files, embedded into the
// binary: ledger_v1.sql, ledger_v2.sql and ledger_v2_down.sql for
// PostgreSQL, and the same names under sqlite/ for SQLite; for PostgreSQL
// also the auditor's SQL (ledger_v2_audit.sql) and the optional
// hash-partitioned layout (ledger_v2_partition.sql, undone by
// ledger_v2_unpartition.sql).
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql sqlite/*.sql
var FS embed.FS
