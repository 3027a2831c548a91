package seed

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"

	"github.com/uptrace/bun"

	"agora/database"
)

// seedConn returns a connection for the run's inserts. On SQLite it is tuned
// for bulk loading: a 256 MiB page cache (the default 2 MiB thrashes on the
// posts indexes), and no statement journal, which SQLite otherwise keeps for
// every multi-row INSERT that could fail half-way (with foreign keys on, or
// with the default conflict handling) and which cost as much as the inserts.
// Foreign keys stay unchecked only here: the rows are consistent by
// construction, and the tests check them on both databases.
func seedConn(ctx context.Context, db *bun.DB) (bun.Conn, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return conn, err
	}
	if database.IsSQLite(db) {
		_, err = conn.ExecContext(ctx, "PRAGMA cache_size = -262144; PRAGMA temp_store = MEMORY; PRAGMA foreign_keys = OFF")
		if err != nil {
			discard(conn)
			return conn, fmt.Errorf("tune the seeding connection: %w", err)
		}
		return conn, nil
	}
	// On PostgreSQL the page-cache triggers (migration 20261122000001) would
	// update a topic row per post, which makes seeding four times slower;
	// finish bumps the versions once instead. This also skips the foreign
	// key triggers, as on SQLite. Only a superuser may skip triggers: anyone
	// else seeds with them, slower but the same, so a refusal is no error.
	conn.ExecContext(ctx, "SET session_replication_role = replica") //nolint:errcheck // see above
	return conn, nil
}

// discard closes conn for good instead of returning it to the pool, so the
// settings made by seedConn reach no other query.
func discard(conn bun.Conn) {
	conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the error is the point
}

// writer runs statements in transactions of about rowsPerTx rows.
type writer struct {
	conn bun.Conn
	tx   *bun.Tx
	rows int
}

func (w *writer) exec(ctx context.Context, query string, rows int) error {
	if w.tx == nil {
		tx, err := w.conn.BeginTx(ctx, &sql.TxOptions{})
		if err != nil {
			return err
		}
		w.tx = &tx
	}
	if _, err := w.tx.ExecContext(ctx, query); err != nil {
		return err
	}
	if w.rows += rows; w.rows >= rowsPerTx {
		return w.commit()
	}
	return nil
}

// commit ends the open transaction, if any.
func (w *writer) commit() error {
	if w.tx == nil {
		return nil
	}
	tx := w.tx
	w.tx, w.rows = nil, 0
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// rollback abandons the open transaction after a failure; a no-op after commit.
func (w *writer) rollback() {
	if w.tx != nil {
		w.tx.Rollback() //nolint:errcheck // the failure that led here is the one reported
		w.tx = nil
	}
}
