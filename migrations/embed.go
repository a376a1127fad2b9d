// Package migrations holds the ledger's SQL schema files, embedded into the
// binary: ledger_v1.sql, ledger_v2.sql and ledger_v2_down.sql for
// PostgreSQL, and the same names under sqlite/ for SQLite.
package migrations

import "embed"

// FS holds every migration file.
//
//go:embed *.sql sqlite/*.sql
var FS embed.FS
