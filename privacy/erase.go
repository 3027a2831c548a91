package privacy

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"agora/forum"
	"agora/models"
	"agora/moderation"
)

// Erasure is what an erasure removes beyond the personal data.
type Erasure struct {
	// DeletePosts removes the member's posts and topics everywhere, search
	// included; without it they stay, signed by a deleted member.
	DeletePosts bool
	// Reason is an admin's, for the log ("" when the member asked themself).
	Reason string
}

// Erase removes target's personal data in one transaction: the account
// becomes a tombstone (a pseudonymous id the moderation log and the posts
// keep pointing at, its name "deleted-<id>", no email, name, bio, company
// or password); identities, sessions, tokens, preferences, notifications,
// mail, reads, watches, badges, staff notes and view records go; other
// members' notifications and every place members wrote the name are
// rewritten; every post
// touched is indexed again. The log's hash chain is not touched: its
// entries point at the tombstone's id; what moderators wrote in them (an
// edit's before and after, a reason) stays as evidence, as the guidelines
// say removed content is kept. actor is target (who proved it is them)
// or an admin. Errors: ErrForbidden, ErrNotFound, *models.ConflictError
// (the last admin).
func (s *Service) Erase(ctx context.Context, actor, target *models.User, e Erasure) error {
	if actor == nil || (actor.ID != target.ID && !actor.IsAdmin()) {
		return models.ErrForbidden
	}
	if target.DeletedAt != nil {
		return fmt.Errorf("member %d: %w", target.ID, models.ErrNotFound)
	}
	now := s.now().UTC()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.LockUsers(ctx, tx, target.ID); err != nil {
			return err
		}
		// Read again under the lock: two erasures at once run one after the other.
		target, err := models.UserByID(ctx, tx, target.ID)
		if err != nil {
			return err
		}
		if target.DeletedAt != nil {
			return fmt.Errorf("member %d: %w", target.ID, models.ErrNotFound)
		}
		if target.IsAdmin() {
			others, err := models.AdminExistsBesides(ctx, tx, target.ID)
			if err != nil {
				return err
			}
			if !others {
				return &models.ConflictError{Message: "the last admin cannot be deleted; make another admin first"}
			}
		}
		var earlier []string
		if err := tx.NewRaw("SELECT old_name FROM username_history WHERE user_id = ?", target.ID).Scan(ctx, &earlier); err != nil {
			return fmt.Errorf("earlier names: %w", err)
		}
		if err := scrubName(ctx, tx, target, earlier, now); err != nil {
			return err
		}
		if e.DeletePosts {
			if err := deletePosts(ctx, tx, target.ID, now); err != nil {
				return err
			}
		}
		id := target.ID
		var steps []step
		for _, table := range []string{"identities", "username_history", "sessions", "api_tokens", "auth_states",
			"email_preferences", "notifications", "mail_queue", "topic_reads", "topic_watches", "category_watches"} {
			steps = append(steps, step{"DELETE FROM " + table + " WHERE user_id = ?", []any{id}})
		}
		steps = append(steps,
			step{"UPDATE badges SET holder_count = holder_count - 1 WHERE id IN (SELECT badge_id FROM user_badges WHERE user_id = ?)", []any{id}},
			step{"DELETE FROM badge_subjects WHERE user_id = ?", []any{id}},
			step{"DELETE FROM user_badges WHERE user_id = ?", []any{id}},
			step{"DELETE FROM user_notes WHERE user_id = ?", []any{id}},
			step{"DELETE FROM topic_views WHERE viewer = ?", []any{"u" + strconv.FormatInt(id, 10)}},
			step{"INSERT INTO search_outbox (entity, entity_id, op, created_at) SELECT 'post', id, 'upsert', ? FROM posts WHERE user_id = ?",
				[]any{now, id}},
			// Other members' notifications the member set off start with
			// their name; mail about them not yet sent quotes it and goes unsent.
			step{"UPDATE notifications SET message = ? || substr(message, ?) WHERE actor_id = ? AND message LIKE ?",
				[]any{"A deleted member", len(target.Username) + 1, id, target.Username + " %"}},
			step{"UPDATE notifications SET actor_id = NULL WHERE actor_id = ?", []any{id}},
			step{"DELETE FROM mail_queue WHERE status = 'pending' AND (subject LIKE ? OR body LIKE ?)",
				[]any{"%" + target.Username + "%", "%" + target.Username + "%"}},
		)
		if err := run(ctx, tx, steps); err != nil {
			return fmt.Errorf("erase member %d: %w", id, err)
		}
		if err := models.Tombstone(ctx, tx, id, "deleted-"+strconv.FormatInt(id, 36), now); err != nil {
			return err
		}
		entry := moderation.Entry{Action: moderation.ActEraseUser, TargetType: moderation.TargetUser, TargetID: id,
			TargetUserID: &id, Reason: e.Reason, Details: map[string]any{"posts_deleted": e.DeletePosts}}
		if actor.ID != target.ID {
			entry.ModeratorID = &actor.ID
		}
		_, err = moderation.Record(ctx, tx, entry, now)
		return err
	})
}

// deletePosts empties and removes the member's posts and the topics they
// started (with their titles), drops the posts' revisions, and queues every
// post concerned for the search index.
func deletePosts(ctx context.Context, tx bun.Tx, userID int64, now time.Time) error {
	if err := uncount(ctx, tx, userID); err != nil {
		return err
	}
	return run(ctx, tx, []step{
		{"DELETE FROM post_revisions WHERE post_id IN (SELECT id FROM posts WHERE user_id = ?)", []any{userID}},
		{`UPDATE posts SET body = '', html = '', removed_at = COALESCE(removed_at, ?), removed_reason = 'deleted by its author',
			revision_count = 0, updated_at = ? WHERE user_id = ?`, []any{now, now, userID}},
		{"UPDATE topics SET title = 'Deleted topic', slug = 'deleted-topic', removed_at = COALESCE(removed_at, ?), updated_at = ? WHERE user_id = ?",
			[]any{now, now, userID}},
		{"INSERT INTO search_outbox (entity, entity_id, op, created_at) SELECT 'topic', id, 'upsert', ? FROM topics WHERE user_id = ?",
			[]any{now, userID}},
	})
}

// step is one statement of an erasure.
type step struct {
	q    string
	args []any
}

// run executes steps in order, naming the one that failed.
func run(ctx context.Context, tx bun.Tx, steps []step) error {
	for _, st := range steps {
		if _, err := tx.ExecContext(ctx, st.q, st.args...); err != nil {
			return fmt.Errorf("%s: %w", st.q, err)
		}
	}
	return nil
}

// uncount takes the member's visible posts and topics out of the counters,
// as a moderator's removal does: their replies out of their topics (and the
// category while the topic shows), then their topics with what is left in
// them out of their categories.
func uncount(ctx context.Context, tx bun.Tx, userID int64) error {
	var replies []struct {
		TopicID    int64      `bun:"topic_id"`
		CategoryID int64      `bun:"category_id"`
		Removed    *time.Time `bun:"removed_at"`
		N          int        `bun:"n"`
	}
	if err := tx.NewRaw(`SELECT p.topic_id, t.category_id, t.removed_at, count(*) AS n FROM posts AS p
		JOIN topics AS t ON t.id = p.topic_id WHERE p.user_id = ? AND p.post_number > 1 AND p.removed_at IS NULL
		GROUP BY p.topic_id, t.category_id, t.removed_at`, userID).Scan(ctx, &replies); err != nil {
		return fmt.Errorf("count replies to remove: %w", err)
	}
	for _, r := range replies {
		if err := models.CountReplies(ctx, tx, r.TopicID, -r.N); err != nil {
			return err
		}
		if r.Removed == nil {
			if err := models.CountCategory(ctx, tx, r.CategoryID, 0, -r.N); err != nil {
				return err
			}
		}
	}
	var topics []*models.Topic
	if err := tx.NewSelect().Model(&topics).Column("id", "category_id").Where("user_id = ?", userID).
		Where("removed_at IS NULL").Scan(ctx); err != nil {
		return fmt.Errorf("topics to remove: %w", err)
	}
	for _, t := range topics {
		if err := models.CountTopicInCategory(ctx, tx, t.ID, t.CategoryID, -1); err != nil {
			return err
		}
	}
	return nil
}

// scrubName rewrites where members wrote the member's names (the current
// username and those used before, the display name, the email): in the
// member's own posts, revisions, flag notes and topic titles, every one of
// them; in everyone else's only an @mention or the email, so that another
// member's words that happen to equal a name stay as written. Posts are
// rendered and indexed again.
func scrubName(ctx context.Context, tx bun.Tx, u *models.User, earlier []string, now time.Time) error {
	names := append([]string{u.Email, u.DisplayName, u.Username}, earlier...)
	handles := append([]string{u.Username}, earlier...)
	var own, others []*regexp.Regexp
	for _, n := range names {
		if len([]rune(n)) >= 3 {
			// Unicode-aware word edges: Go's \b knows only ASCII letters.
			own = append(own, regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}_@])@?`+regexp.QuoteMeta(n)+`($|[^\p{L}\p{N}_])`))
		}
	}
	for _, h := range handles {
		// A mention ends where the mention parser ends it (markup): not before . or - inside a name.
		others = append(others, regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}_])@`+regexp.QuoteMeta(h)+`($|[^A-Za-z0-9_.-]|[.-](?:\s|$))`))
	}
	if u.Email != "" {
		others = append(others, regexp.MustCompile(`(?i)(^|[^\p{L}\p{N}_.+-])`+regexp.QuoteMeta(u.Email)+`($|[^\p{L}\p{N}_])`))
	}
	scrub := func(text string, res []*regexp.Regexp) string {
		for _, re := range res {
			// Twice: two names side by side share the character between them.
			for range 2 {
				text = re.ReplaceAllString(text, "${1}"+models.DeletedName+"${2}")
			}
		}
		return text
	}
	for _, t := range []struct{ table, col string }{{"posts", "body"}, {"post_revisions", "body"}, {"flags", "note"},
		{"topics", "title"}} {
		// The rows that may hold a name, found in Go: SQLite's lower() folds ASCII only.
		var rows []struct {
			ID    int64  `bun:"id"`
			Owner int64  `bun:"owner"`
			Text  string `bun:"text"`
		}
		conds, args := make([]string, 0, len(names)), make([]any, 0, len(names))
		for _, n := range names {
			if n != "" {
				conds, args = append(conds, t.col+" LIKE ?"), append(args, "%"+n+"%")
			}
		}
		q := "SELECT id, user_id AS owner, " + t.col + " AS text FROM " + t.table + " WHERE " + strings.Join(conds, " OR ")
		if tx.Dialect().Name() == dialect.PG {
			q = strings.ReplaceAll(q, " LIKE ", " ILIKE ")
		} else {
			q += " OR user_id = " + strconv.FormatInt(u.ID, 10) // case-insensitive LIKE is ASCII-only here: read all of theirs
		}
		if err := tx.NewRaw(q, args...).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("find the name in %s: %w", t.table, err)
		}
		for _, r := range rows {
			text := scrub(r.Text, others)
			if r.Owner == u.ID {
				text = scrub(text, own)
			}
			if text == r.Text {
				continue
			}
			upd := tx.NewUpdate().Table(t.table).Set(t.col+" = ?", text).Where("id = ?", r.ID)
			if t.table == "posts" {
				html, err := forum.RenderStored(ctx, tx, text)
				if err != nil {
					return err
				}
				upd = upd.Set("html = ?", html)
			}
			if _, err := upd.Exec(ctx); err != nil {
				return fmt.Errorf("scrub the name from %s: %w", t.table, err)
			}
			entity := models.OutboxPost
			if t.table == "topics" {
				entity = models.OutboxTopic
			}
			if t.table == "posts" || t.table == "topics" {
				if err := models.Reindex(ctx, tx, entity, r.ID, now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
