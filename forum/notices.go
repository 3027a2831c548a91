package forum

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
	"agora/policy"
)

// maxMentionNotices is how many of the members a post mentions are told:
// a post naming a crowd notifies the first ten, links them all.
const maxMentionNotices = 10

// rendered is a post's HTML and the members it mentions (by lower-cased name).
type rendered struct {
	HTML      string
	Mentioned map[string]*models.User
}

// renderPost turns what author wrote into the post's HTML with @mentions
// of members linked (one query for the names), refusing what a new member
// may not post yet (policy.PostMedia).
func renderPost(ctx context.Context, db bun.IDB, author *models.User, body string) (*rendered, error) {
	r, err := renderBody(ctx, db, body)
	if err != nil {
		return nil, err
	}
	if policy.NewMember(author) {
		m := markup.Census(r.HTML)
		if err := policy.PostMedia(author, "body", m.Links, m.Images, m.Embeds); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// RenderStored renders a body as a post's stored HTML, mentions of members
// linked, without a new member's limits: for rewriting a stored post.
func RenderStored(ctx context.Context, db bun.IDB, body string) (string, error) {
	r, err := renderBody(ctx, db, body)
	if err != nil {
		return "", err
	}
	return r.HTML, nil
}

// renderBody renders body with the members it mentions linked: one query for the names.
func renderBody(ctx context.Context, db bun.IDB, body string) (*rendered, error) {
	users, err := mentionable(ctx, db, [][]string{markup.Mentions(body)})
	if err != nil {
		return nil, err
	}
	return &rendered{HTML: markup.RenderMentions(body, names(users)), Mentioned: users}, nil
}

// mentionable loads the members named in any of the lists.
func mentionable(ctx context.Context, db bun.IDB, lists [][]string) (map[string]*models.User, error) {
	var all []string
	for _, l := range lists {
		all = append(all, l...)
	}
	return models.UsersByUsernames(ctx, db, all)
}

// names maps lower-cased names to the members' own spelling, as markup wants.
func names(users map[string]*models.User) map[string]string {
	out := make(map[string]string, len(users))
	for k, u := range users {
		out[k] = u.Username
	}
	return out
}

// notices collects the notifications one new post sets off, each member
// told once (the first reason wins) and never the author or anyone who
// muted the topic.
type notices struct {
	author *models.User
	topic  *models.Topic
	post   *models.Post
	muted  map[int64]bool
	told   map[int64]bool
	list   []*models.Notification
	at     time.Time
}

func newNotices(ctx context.Context, tx bun.IDB, author *models.User, t *models.Topic, p *models.Post, now time.Time) (*notices, models.Audience, error) {
	aud, err := models.AudienceOf(ctx, tx, t.ID, t.CategoryID)
	if err != nil {
		return nil, aud, err
	}
	return &notices{author: author, topic: t, post: p, muted: aud.Muted, told: map[int64]bool{author.ID: true}, at: now}, aud, nil
}

func (n *notices) add(to int64, kind, message string) {
	if to == 0 || n.told[to] || n.muted[to] {
		return
	}
	n.told[to] = true
	n.list = append(n.list, &models.Notification{UserID: to, Kind: kind, ActorID: &n.author.ID, TopicID: &n.topic.ID,
		PostID: &n.post.ID, Message: message, CreatedAt: n.at})
}

// mentions tells the members the post mentions (the first maxMentionNotices
// in the order written), skipping those in before (an edit's old mentions).
func (n *notices) mentions(body string, users map[string]*models.User, before map[string]bool) {
	told := 0
	for _, name := range markup.Mentions(body) {
		u := users[strings.ToLower(name)]
		if u == nil || before[strings.ToLower(name)] || told == maxMentionNotices {
			continue
		}
		told++
		n.add(u.ID, models.NotifyMention, n.author.Username+" mentioned you in "+n.topic.Title)
	}
}

// watchers tells everyone watching the topic or its category.
func (n *notices) watchers(aud models.Audience, message string) {
	ids := make([]int64, 0, len(aud.Watching))
	for id := range aud.Watching {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		n.add(id, models.NotifyWatching, message)
	}
}

func (n *notices) save(ctx context.Context, tx bun.IDB) error {
	return models.CreateNotifications(ctx, tx, n.list)
}

// noticeNewMentions tells the members an edit mentions who were not
// mentioned before it.
func noticeNewMentions(ctx context.Context, tx bun.IDB, editor *models.User, t *models.Topic, p *models.Post, old, body string, r *rendered, now time.Time) error {
	before := map[string]bool{}
	for _, name := range markup.Mentions(old) {
		before[strings.ToLower(name)] = true
	}
	ns, _, err := newNotices(ctx, tx, editor, t, p, now)
	if err != nil {
		return err
	}
	ns.told[p.UserID] = true // the author hears of a moderator's edit from moderation
	ns.mentions(body, r.Mentioned, before)
	return ns.save(ctx, tx)
}
