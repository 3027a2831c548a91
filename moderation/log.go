package moderation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
)

// Entry is what a moderation step writes to the log.
type Entry struct {
	ModeratorID  *int64 // nil: the system
	Action       string
	TargetType   string // "post", "topic" or "user"
	TargetID     int64
	TargetUserID *int64
	Guideline    string // a flag reason code, when one applies
	Reason       string
	Details      map[string]any // before/after and the like; stored as JSON
}

// appendLog writes e inside tx, chained to the previous entry by hash. On
// PostgreSQL an advisory lock serialises appenders so the chain never forks;
// SQLite write transactions are serial already.
func appendLog(ctx context.Context, tx bun.Tx, e Entry, now time.Time) (*models.ModAction, error) {
	if tx.Dialect().Name().String() == "pg" {
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock(7431)"); err != nil {
			return nil, fmt.Errorf("lock moderation log: %w", err)
		}
	}
	prev, err := models.LastModAction(ctx, tx)
	if err != nil {
		return nil, err
	}
	details := []byte("{}")
	if len(e.Details) > 0 {
		if details, err = json.Marshal(e.Details); err != nil {
			return nil, fmt.Errorf("encode log details: %w", err)
		}
	}
	a := &models.ModAction{ModeratorID: e.ModeratorID, Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		TargetUserID: e.TargetUserID, Guideline: e.Guideline, Reason: e.Reason, Details: string(details),
		CreatedAt: now.UTC().Truncate(time.Microsecond)} // both databases keep microseconds
	if prev != nil {
		a.PrevHash = prev.Hash
	}
	a.Hash = entryHash(a)
	if _, err := tx.NewInsert().Model(a).Returning("id").Exec(ctx); err != nil {
		return nil, fmt.Errorf("append moderation log: %w", err)
	}
	return a, nil
}

// entryHash is SHA-256 over the previous hash and every content field, each
// length-prefixed so no two different entries encode alike.
func entryHash(a *models.ModAction) string {
	h := sha256.New()
	field := func(s string) { fmt.Fprintf(h, "%d:%s;", len(s), s) }
	optID := func(p *int64) string {
		if p == nil {
			return ""
		}
		return strconv.FormatInt(*p, 10)
	}
	field(a.PrevHash)
	field(a.CreatedAt.UTC().Format(time.RFC3339Nano))
	field(optID(a.ModeratorID))
	field(a.Action)
	field(a.TargetType)
	field(strconv.FormatInt(a.TargetID, 10))
	field(optID(a.TargetUserID))
	field(a.Guideline)
	field(a.Reason)
	field(a.Details)
	return hex.EncodeToString(h.Sum(nil))
}

// VerifyLog walks the whole log in order and returns the id of the first
// entry whose hash or link does not match (0 when the chain is intact) and
// how many entries it checked.
func VerifyLog(ctx context.Context, db bun.IDB) (brokenID int64, checked int, err error) {
	prev := ""
	var lastID int64
	for {
		var batch []*models.ModAction
		if err := db.NewSelect().Model(&batch).Where("id > ?", lastID).Order("id").Limit(1000).Scan(ctx); err != nil {
			return 0, checked, fmt.Errorf("read moderation log: %w", err)
		}
		if len(batch) == 0 {
			return 0, checked, nil
		}
		for _, a := range batch {
			checked++
			if a.PrevHash != prev || entryHash(a) != a.Hash {
				return a.ID, checked, nil
			}
			prev, lastID = a.Hash, a.ID
		}
	}
}

// LogFilter selects log entries.
type LogFilter struct {
	ModeratorID int64
	UserID      int64 // the member acted upon
	Action      string
	Page        int
	PerPage     int
}

// Log returns a page of the log, newest first, and the total.
func Log(ctx context.Context, db bun.IDB, f LogFilter) ([]*models.ModAction, int, error) {
	var out []*models.ModAction
	q := db.NewSelect().Model(&out).OrderExpr("id DESC").Limit(int64(f.PerPage)).Offset(int64((f.Page - 1) * f.PerPage))
	if f.ModeratorID != 0 {
		q.Where("moderator_id = ?", f.ModeratorID)
	}
	if f.UserID != 0 {
		q.Where("target_user_id = ?", f.UserID)
	}
	if f.Action != "" {
		q.Where("action = ?", f.Action)
	}
	n, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read moderation log: %w", err)
	}
	return out, int(n), nil
}
