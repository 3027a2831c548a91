// Package migrations holds the SQL schema, one folder per dialect with the same
// bun-style file names, embedded so the binary migrates itself.
package migrations

import (
	"embed"
	"fmt"
	"io/fs"

	"github.com/uptrace/bun/migrate"
)

//go:embed sqlite/*.sql pg/*.sql
var files embed.FS

// For returns the migrations for a dialect folder ("sqlite" or "pg").
func For(dialect string) (*migrate.Migrations, error) {
	sub, err := fs.Sub(files, dialect)
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", dialect, err)
	}
	m := migrate.NewMigrations()
	if err := m.Discover(sub); err != nil {
		return nil, fmt.Errorf("discover %s migrations: %w", dialect, err)
	}
	return m, nil
}
