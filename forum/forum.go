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
)

// Limits on what members write.
const (
	TitleMin = 15
	TitleMax = 200
	BodyMax  = 50000
	// PerPage is how many posts a topic page shows.
	PerPage = 20
)

var (
	// ErrLocked: the topic takes no new replies.
	ErrLocked error = &models.ForbiddenError{Code: "topic_locked", Message: "this topic is locked and takes no new replies"}
	// ErrOwnPost: members cannot like their own posts.
	ErrOwnPost error = &models.ForbiddenError{Code: "own_post", Message: "you cannot like your own post"}
	// errPostRemoved: a removed post cannot be edited by its author.
	errPostRemoved error = &models.ForbiddenError{Code: "post_removed", Message: "a moderator removed this post; it can no longer be edited"}
)

// Service is the forum logic over one database.
type Service struct {
	DB  *bun.DB
	Now func() time.Time
}

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{DB: db, Now: now}
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// canWrite refuses anonymous and suspended members.
func (s *Service) canWrite(u *models.User) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	return u.Suspension(s.now())
}

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
	if err := s.canWrite(author); err != nil {
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
		c, err := models.CategoryByID(ctx, s.DB, in.CategoryID)
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
	html := markup.Render(in.Body)
	t := &models.Topic{CategoryID: cat.ID, UserID: author.ID, Title: in.Title, Slug: Slugify(in.Title),
		LastPostedAt: now, LastPostUserID: &author.ID, CreatedAt: now, UpdatedAt: now}
	p := &models.Post{UserID: author.ID, PostNumber: 1, Body: in.Body, HTML: html, RenderVersion: markup.Version,
		CreatedAt: now, UpdatedAt: now}
	err := s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
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
		if err := models.Bump(ctx, tx, "categories", cat.ID, "topic_count = topic_count + 1, post_count = post_count + 1"); err != nil {
			return err
		}
		if err := models.Bump(ctx, tx, "users", author.ID, "topic_count = topic_count + 1, post_count = post_count + 1"); err != nil {
			return err
		}
		return models.Enqueue(ctx, tx, "post", p.ID, "upsert", now)
	})
	if err != nil {
		return nil, nil, err
	}
	return t, p, nil
}

// visibleTopic loads a topic that viewer may see: removed topics exist only for staff.
func visibleTopic(ctx context.Context, db bun.IDB, viewer *models.User, id int64) (*models.Topic, error) {
	t, err := models.TopicByID(ctx, db, id)
	if err != nil {
		return nil, err
	}
	if t.RemovedAt != nil && !viewer.IsStaff() {
		return nil, fmt.Errorf("topic %d removed: %w", id, models.ErrNotFound)
	}
	return t, nil
}

// visiblePost loads a post whose topic viewer may see (removed topics exist only for staff).
func (s *Service) visiblePost(ctx context.Context, viewer *models.User, postID int64) (*models.Post, error) {
	p, err := models.PostByID(ctx, s.DB, postID)
	if err != nil {
		return nil, err
	}
	if _, err := visibleTopic(ctx, s.DB, viewer, p.TopicID); err != nil {
		return nil, err
	}
	return p, nil
}

// Reply adds a post to a topic, optionally answering another post of it.
// Errors: *models.ValidationError, ErrNotFound, ErrLocked, *models.SuspendedError.
func (s *Service) Reply(ctx context.Context, author *models.User, topicID int64, body string, replyTo *int64) (*models.Post, error) {
	if err := s.canWrite(author); err != nil {
		return nil, err
	}
	t, err := visibleTopic(ctx, s.DB, author, topicID)
	if err != nil {
		return nil, err
	}
	if t.Locked && !author.IsStaff() {
		return nil, ErrLocked
	}
	v := &models.ValidationError{}
	validateBody(v, body)
	var parent *models.Post
	if replyTo != nil && *replyTo != 0 {
		parent, err = models.PostByID(ctx, s.DB, *replyTo)
		switch {
		case models.IsNotFound(err) || (err == nil && parent.TopicID != topicID):
			v.Add("reply_to_post_id", "that post is not in this topic")
		case err != nil:
			return nil, err
		case parent.RemovedAt != nil || (parent.HiddenAt != nil && !author.IsStaff()):
			v.Add("reply_to_post_id", "that post is no longer visible")
		}
	} else {
		replyTo = nil
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.now()
	p := &models.Post{TopicID: topicID, UserID: author.ID, ReplyToPostID: replyTo, Body: body,
		HTML: markup.Render(body), RenderVersion: markup.Version, CreatedAt: now, UpdatedAt: now}
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// Updating the topic first locks its row, so post numbers are handed out one at a time.
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
		if err := models.Bump(ctx, tx, "categories", t.CategoryID, "post_count = post_count + 1"); err != nil {
			return err
		}
		if err := models.Bump(ctx, tx, "users", author.ID, "post_count = post_count + 1"); err != nil {
			return err
		}
		notified := map[int64]bool{author.ID: true}
		for _, to := range []int64{parentAuthor(parent), t.UserID} {
			if to == 0 || notified[to] {
				continue
			}
			notified[to] = true
			n := &models.Notification{UserID: to, Kind: models.NotifyReply, ActorID: &author.ID, TopicID: &t.ID,
				PostID: &p.ID, Message: author.Username + " replied in " + t.Title, CreatedAt: now}
			if err := models.CreateNotification(ctx, tx, n); err != nil {
				return err
			}
		}
		return models.Enqueue(ctx, tx, "post", p.ID, "upsert", now)
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

// canEdit allows the author (not while suspended) and staff.
func (s *Service) canEdit(u *models.User, p *models.Post) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	if u.IsStaff() {
		return nil
	}
	if u.ID != p.UserID {
		return models.ErrForbidden
	}
	if p.RemovedAt != nil {
		return errPostRemoved
	}
	return u.Suspension(s.now())
}

// EditPost replaces a post's body, keeping the original and every edit as
// revisions (who, when, why). Errors: ErrNotFound, ErrForbidden,
// *models.SuspendedError, *models.ValidationError.
func (s *Service) EditPost(ctx context.Context, editor *models.User, postID int64, body, reason string) (*models.Post, error) {
	p, err := s.visiblePost(ctx, editor, postID)
	if err != nil {
		return nil, err
	}
	if err := s.canEdit(editor, p); err != nil {
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
	if body == p.Body {
		return p, nil
	}
	now := s.now()
	html := markup.Render(body)
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		return models.ApplyPostEdit(ctx, tx, p, editor.ID, body, html, markup.Version, reason, now)
	})
	if err != nil {
		return nil, err
	}
	return models.PostByID(ctx, s.DB, p.ID)
}

// Revisions returns a post's history for its author or staff.
func (s *Service) Revisions(ctx context.Context, viewer *models.User, postID int64) (*models.Post, []*models.Revision, error) {
	p, err := s.visiblePost(ctx, viewer, postID)
	if err != nil {
		return nil, nil, err
	}
	if viewer == nil {
		return nil, nil, models.ErrUnauthenticated
	}
	if viewer.ID != p.UserID && !viewer.IsStaff() {
		return nil, nil, models.ErrForbidden
	}
	revs, err := models.PostRevisions(ctx, s.DB, postID)
	return p, revs, err
}

// Like records u's like of a post and returns its like count; liking twice
// changes nothing. Errors: ErrNotFound, ErrOwnPost, *models.SuspendedError.
func (s *Service) Like(ctx context.Context, u *models.User, postID int64) (int, error) {
	return s.setLike(ctx, u, postID, true)
}

// Unlike takes u's like back and returns the like count.
func (s *Service) Unlike(ctx context.Context, u *models.User, postID int64) (int, error) {
	return s.setLike(ctx, u, postID, false)
}

func (s *Service) setLike(ctx context.Context, u *models.User, postID int64, like bool) (int, error) {
	if err := s.canWrite(u); err != nil {
		return 0, err
	}
	p, err := s.visiblePost(ctx, u, postID)
	if err != nil {
		return 0, err
	}
	if p.RemovedAt != nil || (p.HiddenAt != nil && !u.IsStaff()) {
		return 0, fmt.Errorf("post %d not visible: %w", postID, models.ErrNotFound)
	}
	if p.UserID == u.ID {
		return 0, ErrOwnPost
	}
	now := s.now()
	var count int
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var res interface{ RowsAffected() (int64, error) }
		var err error
		sign := "+"
		if like {
			res, err = tx.NewInsert().Model(&models.Like{PostID: postID, UserID: u.ID, CreatedAt: now}).
				On("CONFLICT DO NOTHING").Exec(ctx)
		} else {
			sign = "-"
			res, err = tx.NewDelete().Model((*models.Like)(nil)).Where("post_id = ?", postID).Where("user_id = ?", u.ID).Exec(ctx)
		}
		if err != nil {
			return fmt.Errorf("write like: %w", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			if err := models.Bump(ctx, tx, "posts", postID, "like_count = like_count "+sign+" 1"); err != nil {
				return err
			}
			if err := models.Bump(ctx, tx, "topics", p.TopicID, "like_count = like_count "+sign+" 1"); err != nil {
				return err
			}
			if err := models.Bump(ctx, tx, "users", p.UserID, "likes_received = likes_received "+sign+" 1"); err != nil {
				return err
			}
			if err := models.Bump(ctx, tx, "users", u.ID, "likes_given = likes_given "+sign+" 1"); err != nil {
				return err
			}
			if err := models.Enqueue(ctx, tx, "post", postID, "upsert", now); err != nil { // order:likes
				return err
			}
		}
		return tx.NewSelect().Model((*models.Post)(nil)).Column("like_count").Where("id = ?", postID).Scan(ctx, &count)
	})
	return count, err
}

// SetSolution marks postID as the topic's best answer, or clears it when
// postID is 0. Only the topic's author and staff may.
func (s *Service) SetSolution(ctx context.Context, u *models.User, topicID, postID int64) (*models.Topic, error) {
	if u == nil {
		return nil, models.ErrUnauthenticated
	}
	t, err := visibleTopic(ctx, s.DB, u, topicID)
	if err != nil {
		return nil, err
	}
	if !u.IsStaff() {
		if u.ID != t.UserID {
			return nil, models.ErrForbidden
		}
		if err := u.Suspension(s.now()); err != nil {
			return nil, err
		}
	}
	var answer *models.Post
	if postID != 0 {
		answer, err = models.PostByID(ctx, s.DB, postID)
		v := &models.ValidationError{}
		switch {
		case models.IsNotFound(err) || (err == nil && answer.TopicID != topicID):
			v.Add("post_id", "that post is not a reply in this topic")
		case err != nil:
			return nil, err
		case answer.PostNumber == 1:
			v.Add("post_id", "the question itself cannot be its answer")
		case answer.RemovedAt != nil || answer.HiddenAt != nil:
			v.Add("post_id", "that reply is not visible")
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
	}
	now := s.now()
	err = s.DB.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var solved *int64
		if answer != nil {
			solved = &answer.ID
		}
		if _, err := tx.NewUpdate().Model((*models.Topic)(nil)).Set("solved_post_id = ?", solved).
			Set("updated_at = ?", now).Where("id = ?", topicID).Exec(ctx); err != nil {
			return fmt.Errorf("set solution: %w", err)
		}
		if answer != nil && answer.UserID != u.ID {
			n := &models.Notification{UserID: answer.UserID, Kind: models.NotifySolution, ActorID: &u.ID, TopicID: &t.ID,
				PostID: &answer.ID, Message: "Your reply was marked as the best answer to " + t.Title, CreatedAt: now}
			if err := models.CreateNotification(ctx, tx, n); err != nil {
				return err
			}
		}
		return models.Enqueue(ctx, tx, "topic", topicID, "upsert", now)
	})
	if err != nil {
		return nil, err
	}
	return models.TopicByID(ctx, s.DB, topicID)
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
