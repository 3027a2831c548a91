package models

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Secret returns the installation's secret called name, storing fresh (a
// new random value) when there is none yet. Every node reads the value the
// first one stored.
func Secret(ctx context.Context, db bun.IDB, name, fresh string) (string, error) {
	if _, err := db.NewRaw("INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING", name, fresh).
		Exec(ctx); err != nil {
		return "", fmt.Errorf("store secret %s: %w", name, err)
	}
	var v string
	err := db.NewRaw("SELECT value FROM secrets WHERE name = ?", name).Scan(ctx, &v)
	return v, notFound(err, "load secret "+name)
}
