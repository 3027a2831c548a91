package privacy

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

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
// entries name members by id only. actor is target (who proved it is them)
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
		if target.IsAdmin() {
			others, err := models.AdminExistsBesides(ctx, tx, target.ID)
			if err != nil {
				return err
			}
			if !others {
				return &models.ConflictError{Message: "the last admin cannot be deleted; make another admin first"}
			}
		}
		if err := scrubName(ctx, tx, target, now); err != nil {
			return err
		}
		if e.DeletePosts {
			if err := deletePosts(ctx, tx, target.ID, now); err != nil {
				return err
			}
		}
		id := target.ID
		for _, q := range []string{
			"DELETE FROM identities WHERE user_id = ?",
			"DELETE FROM username_history WHERE user_id = ?",
			"DELETE FROM sessions WHERE user_id = ?",
			"DELETE FROM api_tokens WHERE user_id = ?",
			"DELETE FROM auth_states WHERE user_id = ?",
			"DELETE FROM email_preferences WHERE user_id = ?",
			"DELETE FROM notifications WHERE user_id = ?",
			"DELETE FROM mail_queue WHERE user_id = ?",
			"DELETE FROM topic_reads WHERE user_id = ?",
			"DELETE FROM topic_watches WHERE user_id = ?",
			"DELETE FROM category_watches WHERE user_id = ?",
			"UPDATE badges SET holder_count = holder_count - 1 WHERE id IN (SELECT badge_id FROM user_badges WHERE user_id = ?)",
			"DELETE FROM badge_subjects WHERE user_id = ?",
			"DELETE FROM user_badges WHERE user_id = ?",
			"DELETE FROM user_notes WHERE user_id = ?",
			"INSERT INTO search_outbox (entity, entity_id, op, created_at) SELECT 'post', id, 'upsert', ? FROM posts WHERE user_id = ?",
		} {
			args := []any{id}
			if q[0] == 'I' {
				args = []any{now, id}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("erase member %d: %s: %w", id, q, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM topic_views WHERE viewer = ?", "u"+strconv.FormatInt(id, 10)); err != nil {
			return fmt.Errorf("erase views: %w", err)
		}
		// Other members' notifications the member set off start with their name.
		if _, err := tx.ExecContext(ctx, "UPDATE notifications SET actor_id = NULL, message = replace(message, ?, ?) WHERE actor_id = ?",
			target.Username, "A deleted member", id); err != nil {
			return fmt.Errorf("erase from notifications: %w", err)
		}
		if err := models.Tombstone(ctx, tx, id, "deleted-"+strconv.FormatInt(id, 36), now); err != nil {
			return err
		}
		entry := moderation.Entry{Action: moderation.ActEraseUser, TargetType: moderation.TargetUser, TargetID: id,
			TargetUserID: &id, Reason: e.Reason, Details: map[string]any{"posts_deleted": e.DeletePosts}}
		if actor.ID != target.ID {
			entry.ModeratorID = &actor.ID
		}
		_, err := moderation.Record(ctx, tx, entry, now)
		return err
	})
}

// deletePosts empties and removes the member's posts and the topics they
// started (with their titles), drops the posts' revisions, and queues every
// post concerned for the search index.
func deletePosts(ctx context.Context, tx bun.Tx, userID int64, now time.Time) error {
	for _, step := range []struct {
		q    string
		args []any
	}{
		{"DELETE FROM post_revisions WHERE post_id IN (SELECT id FROM posts WHERE user_id = ?)", []any{userID}},
		{`UPDATE posts SET body = '', html = '', removed_at = COALESCE(removed_at, ?), removed_reason = 'deleted by its author',
			revision_count = 0, updated_at = ? WHERE user_id = ?`, []any{now, now, userID}},
		{"UPDATE topics SET title = 'Deleted topic', slug = 'deleted-topic', removed_at = COALESCE(removed_at, ?), updated_at = ? WHERE user_id = ?",
			[]any{now, now, userID}},
		{"INSERT INTO search_outbox (entity, entity_id, op, created_at) SELECT 'topic', id, 'upsert', ? FROM topics WHERE user_id = ?",
			[]any{now, userID}},
	} {
		if _, err := tx.ExecContext(ctx, step.q, step.args...); err != nil {
			return fmt.Errorf("delete posts of %d: %w", userID, err)
		}
	}
	return nil
}

// scrubName rewrites where members wrote the member's name: in the
// member's own posts, revisions and flag notes their username, display name
// and email; in everyone else's an @mention, the email, or the display name
// (a plain word that happens to be the username stays theirs). Posts are
// rendered and indexed again, so the name survives nowhere.
func scrubName(ctx context.Context, tx bun.Tx, u *models.User, now time.Time) error {
	var names []string
	for _, n := range []string{u.Email, u.DisplayName, u.Username} {
		if len(n) >= 3 {
			names = append(names, n)
		}
	}
	// scrub replaces each of ns (at least 3 characters, whole words, any
	// case, with or without @) in text.
	scrub := func(text string, ns ...string) string {
		var alts []string
		for _, n := range ns {
			if len(n) >= 3 {
				alts = append(alts, regexp.QuoteMeta(n))
			}
		}
		if len(alts) == 0 {
			return text
		}
		return regexp.MustCompile(`(?i)@?\b(`+strings.Join(alts, "|")+`)\b`).ReplaceAllString(text, models.DeletedName)
	}
	mention := regexp.MustCompile(`(?i)@` + regexp.QuoteMeta(u.Username) + `\b`)
	conds, args := make([]string, len(names)), make([]any, len(names))
	for _, t := range []struct{ table, col, owner string }{{"posts", "body", "user_id"}, {"post_revisions", "body", "user_id"},
		{"flags", "note", "user_id"}} {
		for i, n := range names {
			conds[i], args[i] = "lower("+t.col+") LIKE ?", "%"+strings.ToLower(n)+"%"
		}
		var rows []struct {
			ID    int64  `bun:"id"`
			Owner int64  `bun:"owner"`
			Text  string `bun:"text"`
		}
		if err := tx.NewRaw("SELECT id, "+t.owner+" AS owner, "+t.col+" AS text FROM "+t.table+" WHERE "+
			strings.Join(conds, " OR "), args...).Scan(ctx, &rows); err != nil {
			return fmt.Errorf("find the name in %s: %w", t.table, err)
		}
		for _, r := range rows {
			text := r.Text
			if r.Owner == u.ID {
				text = scrub(text, names...)
			} else {
				text = scrub(mention.ReplaceAllString(text, models.DeletedName), u.Email, u.DisplayName)
			}
			if text == r.Text {
				continue
			}
			q := tx.NewUpdate().Table(t.table).Set(t.col+" = ?", text).Where("id = ?", r.ID)
			if t.table == "posts" {
				html, err := forum.RenderStored(ctx, tx, text)
				if err != nil {
					return err
				}
				q = q.Set("html = ?", html)
			}
			if _, err := q.Exec(ctx); err != nil {
				return fmt.Errorf("scrub the name from %s: %w", t.table, err)
			}
			if t.table == "posts" {
				if err := models.Reindex(ctx, tx, models.OutboxPost, r.ID, now); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
