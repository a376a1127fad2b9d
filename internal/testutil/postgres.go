package testutil

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// PostgresSchema creates a fresh, empty schema named prefix_<random> in the
// test PostgreSQL cluster (RELEASEGATE_TEST_POSTGRES, see RequireEnv) and
// returns a DSN whose search_path is that schema; the schema is dropped when
// the test ends.
func PostgresSchema(t testing.TB, prefix string) string {
	t.Helper()
	base := RequireEnv(t, "RELEASEGATE_TEST_POSTGRES", "PostgreSQL (scripts/services/postgres.sh)")
	var rnd [6]byte
	rand.Read(rnd[:])
	schema := prefix + "_" + hex.EncodeToString(rnd[:])
	root, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := root.Exec(`CREATE SCHEMA ` + schema); err != nil {
		root.Close()
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		root.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		root.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
