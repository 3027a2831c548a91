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
	"agora/policy"
)

// Log actions: what an entry records.
const (
	ActAutoHide       = "auto_hide" // the system hid a post whose flags reached the threshold
	ActDismissFlags   = "dismiss_flags"
	ActEditPost       = "edit_post"
	ActRemovePost     = "remove_post"
	ActRemoveTopic    = "remove_topic" // its first post was removed
	ActRestorePost    = "restore_post"
	ActRestoreTopic   = "restore_topic"
	ActLockTopic      = "lock_topic"
	ActUnlockTopic    = "unlock_topic"
	ActPinTopic       = "pin_topic"
	ActUnpinTopic     = "unpin_topic"
	ActMoveTopic      = "move_topic"
	ActSuspendUser    = "suspend_user"
	ActUnsuspendUser  = "unsuspend_user"
	ActChangeRole     = "change_role"
	ActEditGuidelines = "edit_guidelines"
	ActEditPrivacy    = "edit_privacy"
	ActEraseUser      = "erase_user"
	ActSetup          = "setup" // the first admin set the community up
	ActLockLevel      = "lock_level"
	ActUnlockLevel    = "unlock_level"
	ActEditLevels     = "edit_levels" // an admin changed the level thresholds
	ActCreateBadge    = "create_badge"
	ActGrantBadge     = "grant_badge"
	ActRevokeBadge    = "revoke_badge"
)

// LogActions lists every action, in the order the log filter offers them.
var LogActions = []string{ActAutoHide, ActDismissFlags, ActEditPost, ActRemovePost, ActRemoveTopic, ActRestorePost,
	ActRestoreTopic, ActLockTopic, ActUnlockTopic, ActPinTopic, ActUnpinTopic, ActMoveTopic, ActSuspendUser,
	ActUnsuspendUser, ActChangeRole, ActEditGuidelines, ActEditPrivacy, ActEraseUser, ActSetup, ActLockLevel, ActUnlockLevel, ActEditLevels,
	ActCreateBadge, ActGrantBadge, ActRevokeBadge}

// Log targets: what an entry acted on.
const (
	TargetPost  = "post"
	TargetTopic = "topic"
	TargetUser  = "user"
	TargetSite  = "site" // the community itself: guidelines, setup
	TargetBadge = "badge"
)

// Entry is what a moderation step writes to the log.
type Entry struct {
	ModeratorID  *int64 // nil: the system
	Action       string // an Act constant
	TargetType   string // a Target constant
	TargetID     int64
	TargetUserID *int64
	Guideline    string         // the guideline code, when one applies
	Reason       string         // the moderator's own words
	Details      map[string]any // before/after and the like; stored as JSON
}

// because fills an entry's guideline and reason from r.
func (e Entry) because(r Reason) Entry {
	e.Guideline, e.Reason = r.Guideline, r.Note
	return e
}

// Record appends e to the log inside tx, chained to the previous entry by
// hash: call it in the transaction of the action it records. On PostgreSQL
// an advisory lock serialises appenders so the chain never forks; SQLite
// write transactions are serial already.
func Record(ctx context.Context, tx bun.Tx, e Entry, now time.Time) (*models.ModAction, error) {
	if err := models.AdvisoryLock(ctx, tx, models.LockModLog); err != nil {
		return nil, err
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

// Log returns a page of the log for staff, newest first, and the total.
func (s *Service) Log(ctx context.Context, mod *models.User, f LogFilter) ([]*models.ModAction, int, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, 0, err
	}
	var out []*models.ModAction
	q := s.db.NewSelect().Model(&out).OrderExpr("id DESC").Limit(int64(f.PerPage)).Offset(int64((f.Page - 1) * f.PerPage))
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

// LogRow is a log entry with what it names loaded: the moderator, the
// member concerned and the post, topic or member acted on.
type LogRow struct {
	*models.ModAction
	Moderator *models.User  `json:"-"` // nil: the system, or a former member
	Member    *models.User  `json:"-"`
	Post      *models.Post  `json:"-"` // TargetPost
	Topic     *models.Topic `json:"-"` // TargetTopic, or the post's topic
	User      *models.User  `json:"-"` // TargetUser
}

// Rows loads what entries name: at most four queries, whatever their number.
func (s *Service) Rows(ctx context.Context, entries []*models.ModAction) ([]*LogRow, error) {
	var userIDs, postIDs, topicIDs []int64
	for _, e := range entries {
		if e.ModeratorID != nil {
			userIDs = append(userIDs, *e.ModeratorID)
		}
		if e.TargetUserID != nil {
			userIDs = append(userIDs, *e.TargetUserID)
		}
		switch e.TargetType {
		case TargetPost:
			postIDs = append(postIDs, e.TargetID)
		case TargetTopic:
			topicIDs = append(topicIDs, e.TargetID)
		case TargetUser:
			userIDs = append(userIDs, e.TargetID)
		}
	}
	users, err := models.UsersByIDs(ctx, s.db, userIDs)
	if err != nil {
		return nil, err
	}
	posts, err := models.PostsByIDs(ctx, s.db, postIDs)
	if err != nil {
		return nil, err
	}
	for _, p := range posts {
		topicIDs = append(topicIDs, p.TopicID)
	}
	topics, err := models.TopicsByIDs(ctx, s.db, topicIDs)
	if err != nil {
		return nil, err
	}
	rows := make([]*LogRow, len(entries))
	for i, e := range entries {
		r := &LogRow{ModAction: e}
		if e.ModeratorID != nil {
			r.Moderator = users[*e.ModeratorID]
		}
		if e.TargetUserID != nil {
			r.Member = users[*e.TargetUserID]
		}
		switch e.TargetType {
		case TargetPost:
			if r.Post = posts[e.TargetID]; r.Post != nil {
				r.Topic = topics[r.Post.TopicID]
			}
		case TargetTopic:
			r.Topic = topics[e.TargetID]
		case TargetUser:
			r.User = users[e.TargetID]
		}
		rows[i] = r
	}
	return rows, nil
}
