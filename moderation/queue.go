package moderation

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/policy"
)

// QueueFilter selects queue entries.
type QueueFilter struct {
	Resolved   bool   // false: open entries
	Reason     string // only entries with a flag of this reason
	CategoryID int64
	Page       int
	PerPage    int
}

// FlagView is one flag in a queue entry with its flagger's track record.
type FlagView struct {
	*models.Flag
	Flagger  *models.User `json:"flagger"`
	Accuracy float64      `json:"flagger_accuracy"` // -1: no reviewed flags yet
}

// AuthorHistory is what moderators need to know about a post's author.
type AuthorHistory struct {
	Removals     int `json:"removals"`
	Suspensions  int `json:"suspensions"`
	FlagsAgainst int `json:"flags_received"`
}

// QueueEntry is one flagged post with every flag on it.
type QueueEntry struct {
	Post    *models.Post   `json:"post"`
	Topic   *models.Topic  `json:"topic"`
	Context []*models.Post `json:"context"` // up to three posts before it
	// ContextAuthors are the context posts' authors by id.
	ContextAuthors map[int64]*models.User `json:"-"`
	Author         *models.User           `json:"author"`
	History        AuthorHistory          `json:"author_history"`
	Customer       *models.Customer       `json:"author_customer,omitempty"` // what the customer's product says (SSO)
	Flags          []*FlagView            `json:"flags"`
	Weight         int                    `json:"weight"`
	Threshold      int                    `json:"threshold"`
	Severe         bool                   `json:"severe"`
	Oldest         time.Time              `json:"oldest_flag_at"`
}

type queueRow struct {
	PostID int64     `bun:"post_id"`
	Weight int       `bun:"weight"`
	Severe int       `bun:"severe"`
	Hidden int       `bun:"hidden"`
	Oldest time.Time `bun:"oldest"`
}

// Queue returns a page of entries, one per flagged post, by priority:
// severe reasons, then posts already hidden, then weight, then age.
// Its cost is a fixed number of queries whatever the page holds.
func (s *Service) Queue(ctx context.Context, mod *models.User, f QueueFilter) ([]*QueueEntry, int, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, 0, err
	}
	statuses := []string{models.FlagOpen}
	if f.Resolved {
		statuses = []string{models.FlagAgreed, models.FlagDisagreed}
	}
	// The open queue is read through the flags_open partial index, which a
	// one-value IN would not use; posts are only joined to filter by
	// category, and hidden posts come from their own small index: a probe
	// into posts per flag costs more than the rest of the page.
	base := s.db.NewSelect().TableExpr("flags AS f")
	if len(statuses) == 1 {
		base.Where("f.status = ?", statuses[0])
	} else {
		base.Where("f.status IN (?)", bun.List(statuses))
	}
	if f.Reason != "" {
		base.Where("f.post_id IN (SELECT post_id FROM flags WHERE reason = ? AND status IN (?))", f.Reason, bun.List(statuses))
	}
	if f.CategoryID != 0 {
		base.Join("JOIN posts AS p ON p.id = f.post_id").Join("JOIN topics AS t ON t.id = p.topic_id").
			Where("t.category_id = ?", f.CategoryID)
	}
	var total int
	if err := base.Clone().ColumnExpr("count(DISTINCT f.post_id)").Scan(ctx, &total); err != nil {
		return nil, 0, fmt.Errorf("count queue: %w", err)
	}
	var rows []queueRow
	q := base.ColumnExpr("f.post_id").ColumnExpr("SUM(f.weight) AS weight").
		ColumnExpr("MAX(CASE WHEN f.reason IN (?) THEN 1 ELSE 0 END) AS severe", bun.List(severeCodes())).
		ColumnExpr("MAX(CASE WHEN f.post_id IN (SELECT id FROM posts WHERE hidden_at IS NOT NULL) THEN 1 ELSE 0 END) AS hidden").
		ColumnExpr("MIN(f.created_at) AS oldest").GroupExpr("f.post_id")
	if f.Resolved {
		q.OrderExpr("MAX(f.resolved_at) DESC")
	} else {
		q.OrderExpr("severe DESC, hidden DESC, weight DESC, oldest ASC")
	}
	if err := q.Limit(int64(f.PerPage)).Offset(int64((f.Page-1)*f.PerPage)).Scan(ctx, &rows); err != nil {
		return nil, 0, fmt.Errorf("load queue: %w", err)
	}
	entries, err := s.fillEntries(ctx, rows, statuses)
	return entries, total, err
}

// fillEntries loads posts, topics, context, flags, users and histories in batches.
func (s *Service) fillEntries(ctx context.Context, rows []queueRow, statuses []string) ([]*QueueEntry, error) {
	if len(rows) == 0 {
		return []*QueueEntry{}, nil
	}
	postIDs := make([]int64, len(rows))
	for i, r := range rows {
		postIDs[i] = r.PostID
	}
	posts, err := models.PostsByIDs(ctx, s.db, postIDs)
	if err != nil {
		return nil, err
	}
	flags, err := models.FlagsOnPosts(ctx, s.db, postIDs, statuses...)
	if err != nil {
		return nil, err
	}
	topicIDs, userIDs := []int64{}, []int64{}
	for _, p := range posts {
		topicIDs = append(topicIDs, p.TopicID)
		userIDs = append(userIDs, p.UserID)
	}
	for _, fl := range flags {
		userIDs = append(userIDs, fl.UserID)
	}
	users, err := models.UsersByIDs(ctx, s.db, userIDs)
	if err != nil {
		return nil, err
	}
	topicByID, err := models.TopicsByIDs(ctx, s.db, topicIDs)
	if err != nil {
		return nil, err
	}
	catIDs := []int64{}
	for _, t := range topicByID {
		catIDs = append(catIDs, t.CategoryID)
	}
	var cats []*models.Category
	if err := s.db.NewSelect().Model(&cats).Where("id IN (?)", bun.List(catIDs)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("load queue categories: %w", err)
	}
	catByID := map[int64]*models.Category{}
	for _, c := range cats {
		catByID[c.ID] = c
	}
	// Context: the three posts before each flagged one, in one query.
	var ctxPosts []*models.Post
	cq := s.db.NewSelect().Model(&ctxPosts).Column("id", "topic_id", "user_id", "post_number", "body", "created_at")
	cq.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		for _, p := range posts {
			q.WhereOr("(topic_id = ? AND post_number BETWEEN ? AND ?)", p.TopicID, p.PostNumber-3, p.PostNumber-1)
		}
		return q
	})
	if err := cq.Order("post_number").Scan(ctx); err != nil {
		return nil, fmt.Errorf("load queue context: %w", err)
	}
	ctxAuthorIDs := make([]int64, len(ctxPosts))
	for i, p := range ctxPosts {
		ctxAuthorIDs[i] = p.UserID
	}
	ctxAuthors, err := models.UsersByIDs(ctx, s.db, ctxAuthorIDs)
	if err != nil {
		return nil, err
	}
	history, err := s.histories(ctx, userIDs)
	if err != nil {
		return nil, err
	}
	customers, err := models.CustomersOf(ctx, s.db, userIDs)
	if err != nil {
		return nil, err
	}
	entries := make([]*QueueEntry, 0, len(rows))
	for _, r := range rows {
		p := posts[r.PostID]
		if p == nil {
			continue
		}
		t := topicByID[p.TopicID]
		e := &QueueEntry{Post: p, Topic: t, Author: users[p.UserID], History: history[p.UserID], Customer: customers[p.UserID], Weight: r.Weight,
			Severe: r.Severe == 1, Oldest: r.Oldest, ContextAuthors: map[int64]*models.User{}}
		if t != nil {
			e.Threshold = Threshold(catByID[t.CategoryID])
		}
		for _, cp := range ctxPosts {
			if cp.TopicID == p.TopicID && cp.PostNumber < p.PostNumber && cp.PostNumber >= p.PostNumber-3 {
				e.Context = append(e.Context, cp)
				e.ContextAuthors[cp.UserID] = ctxAuthors[cp.UserID]
			}
		}
		for _, fl := range flags {
			if fl.PostID == p.ID {
				fv := &FlagView{Flag: fl, Flagger: users[fl.UserID], Accuracy: -1}
				if fv.Flagger != nil {
					fv.Accuracy = Accuracy(fv.Flagger)
				}
				e.Flags = append(e.Flags, fv)
			}
		}
		entries = append(entries, e)
	}
	return entries, nil
}

// histories counts past removals, suspensions and flags received per member.
func (s *Service) histories(ctx context.Context, userIDs []int64) (map[int64]AuthorHistory, error) {
	out := map[int64]AuthorHistory{}
	if len(userIDs) == 0 {
		return out, nil
	}
	type count struct {
		UserID int64 `bun:"user_id"`
		N      int   `bun:"n"`
	}
	var removals, suspensions, flagged []count
	if err := s.db.NewSelect().TableExpr("posts").ColumnExpr("user_id, count(*) AS n").Where("removed_at IS NOT NULL").
		Where("user_id IN (?)", bun.List(userIDs)).GroupExpr("user_id").Scan(ctx, &removals); err != nil {
		return nil, fmt.Errorf("count removals: %w", err)
	}
	if err := s.db.NewSelect().TableExpr("suspensions").ColumnExpr("user_id, count(*) AS n").
		Where("user_id IN (?)", bun.List(userIDs)).GroupExpr("user_id").Scan(ctx, &suspensions); err != nil {
		return nil, fmt.Errorf("count suspensions: %w", err)
	}
	if err := s.db.NewSelect().TableExpr("flags").ColumnExpr("post_user_id AS user_id, count(*) AS n").
		Where("post_user_id IN (?)", bun.List(userIDs)).GroupExpr("post_user_id").Scan(ctx, &flagged); err != nil {
		return nil, fmt.Errorf("count flags received: %w", err)
	}
	for _, c := range removals {
		h := out[c.UserID]
		h.Removals = c.N
		out[c.UserID] = h
	}
	for _, c := range suspensions {
		h := out[c.UserID]
		h.Suspensions = c.N
		out[c.UserID] = h
	}
	for _, c := range flagged {
		h := out[c.UserID]
		h.FlagsAgainst = c.N
		out[c.UserID] = h
	}
	return out, nil
}

// Health is the queue's state at a glance.
type Health struct {
	Open              int            `json:"open_entries"`
	OldestWaiting     *time.Time     `json:"oldest_waiting"`
	MedianFirstAction *time.Duration `json:"median_time_to_action_7d"`
	ActionsByMod      map[string]int `json:"actions_per_moderator_7d"`
}

// OpenEntries counts the queue's open entries, for the staff's header.
func (s *Service) OpenEntries(ctx context.Context, mod *models.User) (int, error) {
	if err := policy.Staff(mod); err != nil {
		return 0, err
	}
	return models.OpenQueueSize(ctx, s.db)
}

// QueueHealth reports open entries, the oldest wait, the median time from
// first flag to resolution over seven days, and actions per moderator.
func (s *Service) QueueHealth(ctx context.Context, mod *models.User) (*Health, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	h := &Health{ActionsByMod: map[string]int{}}
	now := s.now()
	var open struct {
		N      int        `bun:"n"`
		Oldest *time.Time `bun:"oldest"`
	}
	if err := s.db.NewSelect().TableExpr("flags").ColumnExpr("count(DISTINCT post_id) AS n, MIN(created_at) AS oldest").
		Where("status = ?", models.FlagOpen).Scan(ctx, &open); err != nil {
		return nil, fmt.Errorf("queue size: %w", err)
	}
	h.Open, h.OldestWaiting = open.N, open.Oldest
	var spans []struct {
		First    time.Time `bun:"first"`
		Resolved time.Time `bun:"resolved"`
	}
	if err := s.db.NewSelect().TableExpr("flags").ColumnExpr("MIN(created_at) AS first, MIN(resolved_at) AS resolved").
		Where("status IN (?)", bun.List([]string{models.FlagAgreed, models.FlagDisagreed})).
		Where("resolved_at > ?", now.AddDate(0, 0, -7)).GroupExpr("post_id").Scan(ctx, &spans); err != nil {
		return nil, fmt.Errorf("queue times: %w", err)
	}
	if len(spans) > 0 {
		ds := make([]time.Duration, len(spans))
		for i, sp := range spans {
			ds[i] = sp.Resolved.Sub(sp.First)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		m := ds[len(ds)/2]
		h.MedianFirstAction = &m
	}
	var per []struct {
		Username string `bun:"username"`
		N        int    `bun:"n"`
	}
	if err := s.db.NewSelect().TableExpr("moderation_actions AS a").Join("JOIN users AS u ON u.id = a.moderator_id").
		ColumnExpr("u.username, count(*) AS n").Where("a.created_at > ?", now.AddDate(0, 0, -7)).
		GroupExpr("u.username").Scan(ctx, &per); err != nil {
		return nil, fmt.Errorf("actions per moderator: %w", err)
	}
	for _, p := range per {
		h.ActionsByMod[p.Username] = p.N
	}
	return h, nil
}

// DryRunResult is what a flag threshold would have hidden in the last 30 days.
type DryRunResult struct {
	Threshold int
	PostIDs   []int64
	// Posts are the first 50 of them with their topics, in id order.
	Posts  []*models.Post
	Topics map[int64]*models.Topic
}

// DryRun lists the posts of the last 30 days whose flags (retracted ones
// aside) would have reached threshold: what a new threshold would hide.
func (s *Service) DryRun(ctx context.Context, mod *models.User, threshold int) (*DryRunResult, error) {
	if err := policy.Staff(mod); err != nil {
		return nil, err
	}
	if threshold < 1 {
		return nil, &models.ValidationError{Fields: map[string]string{"threshold": "give a positive whole number"}}
	}
	r := &DryRunResult{Threshold: threshold, PostIDs: []int64{}}
	err := s.db.NewSelect().TableExpr("flags").Column("post_id").Where("status <> ?", models.FlagRetracted).
		Where("created_at > ?", s.now().AddDate(0, 0, -30)).GroupExpr("post_id").
		Having("SUM(weight) >= ?", threshold).OrderExpr("post_id").Scan(ctx, &r.PostIDs)
	if err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	first := r.PostIDs[:min(len(r.PostIDs), 50)]
	posts, topics, err := models.PostsWithTopics(ctx, s.db, first)
	if err != nil {
		return nil, err
	}
	r.Topics = topics
	for _, id := range first {
		if p := posts[id]; p != nil && topics[p.TopicID] != nil {
			r.Posts = append(r.Posts, p)
		}
	}
	return r, nil
}
