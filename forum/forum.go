// Package forum holds the question-and-answer rules: starting topics,
// replying, editing with revisions, likes, best answers and categories.
// Every write runs in one transaction with its counters, revision,
// notification and search outbox rows. It knows nothing of HTTP.
package forum

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/uptrace/bun"
	"golang.org/x/text/unicode/norm"

	"agora/markup"
	"agora/models"
	"agora/policy"
)

// Limits on what members write.
const (
	TitleMin = 15
	TitleMax = 200
	BodyMax  = 50000
	// PerPage is how many posts a topic page shows.
	PerPage = 20
)

// Service is the forum logic over one database.
type Service struct {
	db  *bun.DB
	Now func() time.Time
	// Events, when set, hears of topics, replies, likes and best answers in
	// their transaction (levels, badges).
	Events models.Reactor
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, Now: now}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// TopicInput is a new topic as submitted.
type TopicInput struct {
	CategoryID int64
	Title      string
	Body       string
}

func cleanTitle(t string) string {
	return strings.Join(strings.Fields(norm.NFC.String(t)), " ")
}

func validateBody(v *models.ValidationError, body string) {
	switch n := utf8.RuneCountInString(strings.TrimSpace(body)); {
	case n == 0:
		v.Add("body", "write something")
	case utf8.RuneCountInString(body) > BodyMax:
		v.Add("body", fmt.Sprintf("keep it under %d characters (this is %d)", BodyMax, utf8.RuneCountInString(body)))
	}
}

func validateTitle(v *models.ValidationError, title string) {
	switch n := utf8.RuneCountInString(title); {
	case n < TitleMin:
		v.Add("title", fmt.Sprintf("make the title at least %d characters, so others can tell what it is about", TitleMin))
	case n > TitleMax:
		v.Add("title", fmt.Sprintf("keep the title under %d characters", TitleMax))
	}
}

// CreateTopic starts a topic with its first post.
// Errors: *models.ValidationError, ErrUnauthenticated, *models.SuspendedError.
func (s *Service) CreateTopic(ctx context.Context, author *models.User, in TopicInput) (*models.Topic, *models.Post, error) {
	if err := policy.Write(author, s.now()); err != nil {
		return nil, nil, err
	}
	if err := policy.NewMemberPace(author, true, s.now()); err != nil {
		return nil, nil, err
	}
	in.Title = cleanTitle(in.Title)
	v := &models.ValidationError{}
	validateTitle(v, in.Title)
	validateBody(v, in.Body)
	var cat *models.Category
	if in.CategoryID == 0 {
		v.Add("category_id", "choose a category")
	} else {
		c, err := models.CategoryByID(ctx, s.db, in.CategoryID)
		switch {
		case models.IsNotFound(err):
			v.Add("category_id", "that category does not exist")
		case err != nil:
			return nil, nil, err
		case c.Archived:
			v.Add("category_id", "that category is archived and takes no new topics")
		}
		cat = c
	}
	if err := v.Err(); err != nil {
		return nil, nil, err
	}
	now := s.now()
	r, err := renderPost(ctx, s.db, author, in.Body)
	if err != nil {
		return nil, nil, err
	}
	t := &models.Topic{CategoryID: cat.ID, UserID: author.ID, Title: in.Title, Slug: Slugify(in.Title),
		LastPostedAt: now, LastPostUserID: &author.ID, CreatedAt: now, UpdatedAt: now}
	p := &models.Post{UserID: author.ID, PostNumber: 1, Body: in.Body, HTML: r.HTML, RenderVersion: markup.Version,
		CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The member first, then the category (locked by the topic's trigger),
		// the reactions last: models.LockUsers.
		if err := models.CountUser(ctx, tx, author.ID, models.UserCounts{Topics: 1, Posts: 1}); err != nil {
			return err
		}
		if _, err := tx.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("insert topic: %w", err)
		}
		p.TopicID = t.ID
		if _, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("insert post: %w", err)
		}
		t.FirstPostID = &p.ID
		if _, err := tx.NewUpdate().Model(t).Column("first_post_id").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("link first post: %w", err)
		}
		if err := models.CountCategory(ctx, tx, cat.ID, 1, 1); err != nil {
			return err
		}
		if err := models.React(ctx, s.Events, tx, models.Event{Kind: models.EventTopic, Users: []int64{author.ID}}); err != nil {
			return err
		}
		ns, aud, err := newNotices(ctx, tx, author, t, p, now)
		if err != nil {
			return err
		}
		ns.mentions(in.Body, r.Mentioned, nil)
		ns.watchers(aud, author.Username+" started "+t.Title+" in "+cat.Name)
		if err := ns.save(ctx, tx); err != nil {
			return err
		}
		return models.Reindex(ctx, tx, models.OutboxPost, p.ID, now)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, p, nil
}

// Topic returns a topic that viewer may see (policy.SeeTopic).
func (s *Service) Topic(ctx context.Context, viewer *models.User, id int64) (*models.Topic, error) {
	t, err := models.TopicByID(ctx, s.db, id)
	if err != nil {
		return nil, err
	}
	if err := policy.SeeTopic(viewer, t); err != nil {
		return nil, fmt.Errorf("topic %d: %w", id, err)
	}
	return t, nil
}

// PostInTopic returns a post whose topic viewer may see, with that topic.
func (s *Service) PostInTopic(ctx context.Context, viewer *models.User, postID int64) (*models.Post, *models.Topic, error) {
	p, err := models.PostByID(ctx, s.db, postID)
	if err != nil {
		return nil, nil, err
	}
	t, err := s.Topic(ctx, viewer, p.TopicID)
	if err != nil {
		return nil, nil, err
	}
	return p, t, nil
}

// Reply adds a post to a topic, optionally answering another post of it.
// Errors: *models.ValidationError, ErrNotFound, ErrLocked, *models.SuspendedError.
func (s *Service) Reply(ctx context.Context, author *models.User, topicID int64, body string, replyTo *int64) (*models.Post, error) {
	if err := policy.Write(author, s.now()); err != nil {
		return nil, err
	}
	t, err := models.TopicByID(ctx, s.db, topicID)
	if err != nil {
		return nil, err
	}
	if err := policy.Reply(author, t, s.now()); err != nil {
		return nil, fmt.Errorf("reply to topic %d: %w", topicID, err)
	}
	if err := policy.NewMemberPace(author, false, s.now()); err != nil {
		return nil, err
	}
	v := &models.ValidationError{}
	validateBody(v, body)
	var parent *models.Post
	if replyTo != nil && *replyTo != 0 {
		parent, err = models.PostByID(ctx, s.db, *replyTo)
		if err != nil && !models.IsNotFound(err) {
			return nil, err
		}
		if err != nil {
			parent = nil
		}
		if why := policy.Answer(author, t, parent); why != "" {
			v.Add("reply_to_post_id", why)
		}
	} else {
		replyTo = nil
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	r, err := renderPost(ctx, s.db, author, body)
	if err != nil {
		return nil, err
	}
	p := &models.Post{TopicID: topicID, UserID: author.ID, ReplyToPostID: replyTo, Body: body,
		HTML: r.HTML, RenderVersion: markup.Version, CreatedAt: now, UpdatedAt: now}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The member first, then the topic and its category, the reactions last: models.LockUsers.
		if err := models.CountUser(ctx, tx, author.ID, models.UserCounts{Posts: 1}); err != nil {
			return err
		}
		// Updating the topic locks its row, so post numbers are handed out one at a time.
		res, err := tx.NewUpdate().Model((*models.Topic)(nil)).
			Set("reply_count = reply_count + 1").Set("last_posted_at = ?", now).
			Set("last_post_user_id = ?", author.ID).Set("updated_at = ?", now).
			Where("id = ?", topicID).Where("removed_at IS NULL").Exec(ctx)
		if err != nil {
			return fmt.Errorf("update topic: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("topic %d: %w", topicID, models.ErrNotFound)
		}
		last, err := models.LastPostNumber(ctx, tx, topicID)
		if err != nil {
			return err
		}
		p.PostNumber = last + 1
		if _, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
			return fmt.Errorf("insert reply: %w", err)
		}
		if err := models.CountCategory(ctx, tx, t.CategoryID, 0, 1); err != nil {
			return err
		}
		if err := models.React(ctx, s.Events, tx, models.Event{Kind: models.EventReply, Users: []int64{author.ID}}); err != nil {
			return err
		}
		ns, aud, err := newNotices(ctx, tx, author, t, p, now)
		if err != nil {
			return err
		}
		for _, to := range []int64{parentAuthor(parent), t.UserID} {
			ns.add(to, models.NotifyReply, author.Username+" replied in "+t.Title)
		}
		ns.mentions(body, r.Mentioned, nil)
		ns.watchers(aud, author.Username+" replied in "+t.Title)
		if err := ns.save(ctx, tx); err != nil {
			return err
		}
		return models.Reindex(ctx, tx, models.OutboxPost, p.ID, now)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

func parentAuthor(p *models.Post) int64 {
	if p == nil {
		return 0
	}
	return p.UserID
}

// EditablePost returns a post that editor may edit (policy.Edit) with its topic.
// Errors: ErrNotFound, ErrUnauthenticated, ErrForbidden, *models.SuspendedError.
func (s *Service) EditablePost(ctx context.Context, editor *models.User, postID int64) (*models.Post, *models.Topic, error) {
	p, t, err := s.PostInTopic(ctx, editor, postID)
	if err != nil {
		return nil, nil, err
	}
	if err := policy.Edit(editor, t, p, s.now()); err != nil {
		return nil, nil, err
	}
	return p, t, nil
}

// EditPost replaces a post's body, keeping the original and every edit as
// revisions (who, when, why), and returns it as its editor sees it.
// Errors: ErrNotFound, ErrForbidden, *models.SuspendedError,
// *models.ValidationError, *models.ConflictError (edited meanwhile).
func (s *Service) EditPost(ctx context.Context, editor *models.User, postID int64, body, reason string) (*PostForViewer, error) {
	p, t, err := s.EditablePost(ctx, editor, postID)
	if err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	v := &models.ValidationError{}
	validateBody(v, body)
	if utf8.RuneCountInString(reason) > 300 {
		v.Add("reason", "keep the reason under 300 characters")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if body != p.Body {
		now, old := s.now(), p.Body
		r, err := renderPost(ctx, s.db, editor, body)
		if err != nil {
			return nil, err
		}
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := models.ApplyPostEdit(ctx, tx, p, editor.ID, body, r.HTML, markup.Version, reason, now); err != nil {
				return err
			}
			return noticeNewMentions(ctx, tx, editor, t, p, old, body, r, now)
		})
		if err != nil {
			return nil, err
		}
		if p, err = models.PostByID(ctx, s.db, p.ID); err != nil {
			return nil, err
		}
	}
	author, err := models.UserByID(ctx, s.db, p.UserID)
	if err != nil && !models.IsNotFound(err) {
		return nil, err
	}
	if err != nil {
		author = nil
	}
	return s.forViewer(editor, t, p, author, false), nil
}

// Revision is one saved version of a post with its editor (nil: a former member).
type Revision struct {
	*models.Revision
	Editor *models.User `json:"-"`
}

// Revisions returns a post's history, oldest first, for its author or staff
// (policy.SeeRevisions), with the post and its topic.
func (s *Service) Revisions(ctx context.Context, viewer *models.User, postID int64) (*models.Post, *models.Topic, []Revision, error) {
	p, t, err := s.PostInTopic(ctx, viewer, postID)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := policy.SeeRevisions(viewer, t, p); err != nil {
		return nil, nil, nil, err
	}
	revs, err := models.PostRevisions(ctx, s.db, postID)
	if err != nil {
		return nil, nil, nil, err
	}
	ids := make([]int64, len(revs))
	for i, r := range revs {
		ids[i] = r.UserID
	}
	editors, err := models.UsersByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, nil, nil, err
	}
	out := make([]Revision, len(revs))
	for i, r := range revs {
		out[i] = Revision{Revision: r, Editor: editors[r.UserID]}
	}
	return p, t, out, nil
}

// Slugify makes a URL slug from a title: lower-case ASCII letters and digits
// joined by dashes, cut at a word to at most 80 characters; "topic" when nothing is left.
func Slugify(title string) string {
	var b strings.Builder
	dash := false
	for _, r := range norm.NFKD.String(strings.ToLower(title)) {
		switch {
		case r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)):
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r): // accents split off by NFKD
		default:
			dash = true
		}
	}
	slug := b.String()
	if len(slug) > 80 {
		slug = slug[:81]
		if i := strings.LastIndexByte(slug, '-'); i > 0 {
			slug = slug[:i]
		} else {
			slug = slug[:80]
		}
	}
	if slug == "" {
		return "topic"
	}
	return slug
}
