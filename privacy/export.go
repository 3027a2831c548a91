// Package privacy makes the privacy policy's promises true: a member can
// take every piece of their data (Export). It knows nothing of HTTP.
package privacy

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// Service reads a member's data over one database.
type Service struct {
	db  *bun.DB
	now func() time.Time
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

// section is one part of the export: the rows a query finds for the member
// (every ? is the member's id), and the references to users it covers.
type section struct {
	Name   string
	Query  string
	Covers []string // table.column
	One    bool     // a single object, not a list
}

// Sections are the export, in order. Each reference to users in the
// schema is covered by one of them or left out in NotExported with the
// reason (TestExportCoversEveryReferenceToMembers holds both lists to the
// schema). Secrets (password hashes, session and token hashes, the
// unsubscribe token) and other members' ids are never selected.
var Sections = []section{
	{Name: "profile", One: true, Covers: []string{"users.id"}, Query: `SELECT id, username, email, email_verified_at,
		display_name, bio, avatar_color, company, role, level, badge_count, topic_count, post_count, likes_received, likes_given,
		solution_count, days_visited, topics_read, posts_read, guidelines_read_at, suspended_until, suspended_reason,
		created_at, last_seen_at FROM users WHERE id = ?`},
	{Name: "earlier_usernames", Covers: []string{"username_history.user_id"}, Query: `SELECT old_name, changed_at
		FROM username_history WHERE user_id = ? ORDER BY changed_at`},
	{Name: "identities", Covers: []string{"identities.user_id"}, Query: `SELECT provider, provider_user_id, email,
		profile, created_at, last_used_at FROM identities WHERE user_id = ? ORDER BY id`},
	{Name: "email_preferences", One: true, Covers: []string{"email_preferences.user_id"}, Query: `SELECT opted_in,
		notify_replies, notify_mentions, notify_solution, notify_moderation, notify_staff, digest, digest_sent_at,
		bounce_count, bouncing_at, bounce_reason, updated_at FROM email_preferences WHERE user_id = ?`},
	{Name: "sessions", Covers: []string{"sessions.user_id"}, Query: `SELECT ip, user_agent, created_at, last_seen_at,
		expires_at FROM sessions WHERE user_id = ? ORDER BY id`},
	{Name: "api_tokens", Covers: []string{"api_tokens.user_id"}, Query: `SELECT name, created_at, last_used_at, expires_at
		FROM api_tokens WHERE user_id = ? ORDER BY id`},
	{Name: "topics", Covers: []string{"topics.user_id"}, Query: `SELECT id, category_id, title, slug, first_post_id,
		solved_post_id, reply_count, like_count, view_count, locked, pinned, removed_at, created_at
		FROM topics WHERE user_id = ? ORDER BY id`},
	{Name: "posts", Covers: []string{"posts.user_id"}, Query: `SELECT id, topic_id, post_number, reply_to_post_id, body,
		like_count, revision_count, edited_at, hidden_at, removed_at, removed_reason, created_at
		FROM posts WHERE user_id = ? ORDER BY id`},
	{Name: "post_revisions", Covers: []string{"post_revisions.user_id"}, Query: `SELECT r.post_id, r.number, r.body,
		r.reason, r.created_at, r.user_id = ? AS by_you FROM post_revisions AS r JOIN posts AS p ON p.id = r.post_id
		WHERE p.user_id = ? OR r.user_id = ? ORDER BY r.id`},
	{Name: "likes", Covers: []string{"likes.user_id"}, Query: `SELECT post_id, created_at FROM likes WHERE user_id = ?
		ORDER BY created_at, post_id`},
	{Name: "flags", Covers: []string{"flags.user_id"}, Query: `SELECT post_id, reason, note, weight, status, outcome,
		resolved_at, created_at FROM flags WHERE user_id = ? ORDER BY id`},
	{Name: "badges", Covers: []string{"user_badges.user_id"}, Query: `SELECT b.name, b.tier, ub.reason, ub.grant_count,
		ub.granted_at, ub.last_granted_at FROM user_badges AS ub JOIN badges AS b ON b.id = ub.badge_id
		WHERE ub.user_id = ? ORDER BY ub.granted_at, b.id`},
	{Name: "notifications", Covers: []string{"notifications.user_id"}, Query: `SELECT kind, message, count, topic_id,
		post_id, read_at, created_at FROM notifications WHERE user_id = ? ORDER BY id`},
	{Name: "topic_reads", Covers: []string{"topic_reads.user_id"}, Query: `SELECT topic_id, last_post_number
		FROM topic_reads WHERE user_id = ? ORDER BY topic_id`},
	{Name: "topic_watches", Covers: []string{"topic_watches.user_id"}, Query: `SELECT topic_id, level, created_at
		FROM topic_watches WHERE user_id = ? ORDER BY topic_id`},
	{Name: "category_watches", Covers: []string{"category_watches.user_id"}, Query: `SELECT category_id, level,
		created_at FROM category_watches WHERE user_id = ? ORDER BY category_id`},
	{Name: "mail", Covers: []string{"mail_queue.user_id"}, Query: `SELECT kind, to_address, subject, status, attempts,
		created_at, sent_at FROM mail_queue WHERE user_id = ? ORDER BY id`},
	{Name: "suspensions", Covers: []string{"suspensions.user_id"}, Query: `SELECT reason, starts_at, ends_at, lifted_at,
		created_at FROM suspensions WHERE user_id = ? ORDER BY id`},
	{Name: "moderation_actions", Covers: []string{"moderation_actions.target_user_id", "moderation_actions.moderator_id"},
		Query: `SELECT action, target_type, target_id, guideline, reason, created_at, moderator_id = ? AS by_you
		FROM moderation_actions WHERE target_user_id = ? OR moderator_id = ? ORDER BY id`},
	{Name: "staff_notes", Covers: []string{"user_notes.user_id"}, Query: `SELECT body, created_at FROM user_notes
		WHERE user_id = ? ORDER BY id`},
}

// NotExported are the references to users the export leaves out, and why.
var NotExported = map[string]string{
	"topics.last_post_user_id": "derived: the member's last post in a topic is among their posts",
	"posts.removed_by":         "a moderator's removal is among their moderation actions",
	"flags.resolved_by":        "a moderator's resolution is among their moderation actions",
	"flags.post_user_id":       "reports about the member were made by others; their outcomes are among the moderation actions concerning the member",
	"suspensions.moderator_id": "a moderator's suspension of someone is among their moderation actions",
	"suspensions.lifted_by":    "lifting a suspension is among the moderation actions",
	"user_notes.author_id":     "notes a staff member wrote are about other members",
	"notifications.actor_id":   "notifications the member set off belong to the members who got them",
	"badge_subjects.user_id":   "bookkeeping of repeat badge grants (which post or day), summed up in badges",
	"auth_states.user_id":      "a sign-in in progress, gone within ten minutes",
}

// Export writes everything Agora holds about u (and nothing of anyone else)
// as one JSON document to w, row by row: memory stays flat however much
// the member wrote. Errors: ErrUnauthenticated, and a failed write.
func (s *Service) Export(ctx context.Context, u *models.User, w io.Writer) error {
	return s.export(ctx, u, w, jsonFormat{})
}

// ExportHTML writes the same as a page a person can read.
func (s *Service) ExportHTML(ctx context.Context, u *models.User, w io.Writer) error {
	return s.export(ctx, u, w, htmlFormat{})
}

// ExportZip writes the download: a zip holding export.json and index.html.
func (s *Service) ExportZip(ctx context.Context, u *models.User, w io.Writer) error {
	z := zip.NewWriter(w)
	for _, f := range []struct {
		name  string
		write func(context.Context, *models.User, io.Writer) error
	}{{"export.json", s.Export}, {"index.html", s.ExportHTML}} {
		fw, err := z.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: s.now()})
		if err != nil {
			return err
		}
		if err := f.write(ctx, u, fw); err != nil {
			return err
		}
	}
	return z.Close()
}

// format writes the sections one way.
type format interface {
	start(w *bufio.Writer, u *models.User, at time.Time)
	section(w *bufio.Writer, sec section, cols []string)
	row(w *bufio.Writer, sec section, cols []string, vals []any, n int) error
	endSection(w *bufio.Writer, sec section, n int)
	end(w *bufio.Writer)
}

func (s *Service) export(ctx context.Context, u *models.User, w io.Writer, f format) error {
	if err := policy.SignedIn(u); err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	f.start(bw, u, s.now().UTC())
	for _, sec := range Sections {
		if err := s.writeSection(ctx, bw, f, sec, u.ID); err != nil {
			return fmt.Errorf("export %s: %w", sec.Name, err)
		}
	}
	f.end(bw)
	return bw.Flush()
}

func (s *Service) writeSection(ctx context.Context, w *bufio.Writer, f format, sec section, userID int64) error {
	args := make([]any, strings.Count(sec.Query, "?"))
	for i := range args {
		args[i] = userID
	}
	rows, err := s.db.QueryContext(ctx, sec.Query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	f.section(w, sec, cols)
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range vals {
			vals[i] = plain(v)
		}
		if err := f.row(w, sec, cols, vals, n); err != nil {
			return err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	f.endSection(w, sec, n)
	return nil
}

// plain is a value as the export shows it: text as a string, a timestamp
// in RFC 3339, booleans and numbers as they come.
func plain(v any) any {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	}
	return v
}

// jsonFormat: {"format": …, "exported_at": …, "<section>": [rows] or {row}, …}.
type jsonFormat struct{}

func (jsonFormat) start(w *bufio.Writer, _ *models.User, at time.Time) {
	fmt.Fprintf(w, `{"format":"agora-export-1","exported_at":%q`, at.Format(time.RFC3339))
}

func (jsonFormat) section(w *bufio.Writer, sec section, _ []string) {
	fmt.Fprintf(w, ",\n%q:", sec.Name)
	if !sec.One {
		w.WriteByte('[')
	}
}

func (jsonFormat) row(w *bufio.Writer, sec section, cols []string, vals []any, n int) error {
	if n > 0 && sec.One {
		return nil
	}
	if n > 0 {
		w.WriteByte(',')
	}
	m := make(map[string]any, len(cols))
	for i, c := range cols {
		m[c] = vals[i]
	}
	return json.NewEncoder(w).Encode(m)
}

func (jsonFormat) endSection(w *bufio.Writer, sec section, n int) {
	switch {
	case sec.One && n == 0:
		w.WriteString("null")
	case !sec.One:
		w.WriteByte(']')
	}
}

func (jsonFormat) end(w *bufio.Writer) { w.WriteString("}\n") }

// htmlFormat: a plain page, a table per section, every value escaped.
type htmlFormat struct{}

func (htmlFormat) start(w *bufio.Writer, u *models.User, at time.Time) {
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Your data: %s</title>`+
		`<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;color:#1f2328}table{border-collapse:collapse;margin:0 0 2rem}`+
		`th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top;white-space:pre-wrap}</style>`+
		`</head><body><h1>Everything we hold about %s</h1><p>Exported %s. The same data is in export.json.</p>`,
		html.EscapeString(u.Username), html.EscapeString(u.Username), at.Format(time.RFC1123))
}

func (htmlFormat) section(w *bufio.Writer, sec section, cols []string) {
	fmt.Fprintf(w, "<h2>%s</h2><table><tr>", html.EscapeString(strings.ReplaceAll(sec.Name, "_", " ")))
	for _, c := range cols {
		fmt.Fprintf(w, "<th>%s</th>", html.EscapeString(c))
	}
	w.WriteString("</tr>\n")
}

func (htmlFormat) row(w *bufio.Writer, _ section, _ []string, vals []any, _ int) error {
	w.WriteString("<tr>")
	for _, v := range vals {
		if v == nil {
			v = ""
		}
		fmt.Fprintf(w, "<td>%s</td>", html.EscapeString(fmt.Sprint(v)))
	}
	_, err := w.WriteString("</tr>\n")
	return err
}

func (htmlFormat) endSection(w *bufio.Writer, _ section, n int) {
	if n == 0 {
		w.WriteString("<tr><td>nothing</td></tr>")
	}
	w.WriteString("</table>\n")
}

func (htmlFormat) end(w *bufio.Writer) { w.WriteString("</body></html>\n") }
