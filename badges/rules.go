package badges

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
)

// Scope is whom and what a rule looks at: the members (never all at once:
// the backfill passes pages of them) and, for an event about one post or a
// few topics, only those.
type Scope struct {
	Users  []int64
	PostID int64
	Topics []int64
}

// Grant is one badge a rule finds earned: by a member, for a subject (a
// post, a topic or a year for repeatable badges; 0 otherwise).
type Grant struct {
	UserID  int64 `bun:"user_id"`
	Subject int64 `bun:"subject"`
}

// Rule is a badge the engine grants, defined once: the events that may earn
// it and the query that finds who did. Events and the backfill both run
// Qualifies, so they always agree.
type Rule struct {
	Key, Name, Description, Tier, Icon string
	Repeatable                         bool
	On                                 []string // event kinds
	Qualifies                          func(ctx context.Context, db bun.IDB, sc Scope, now time.Time) ([]Grant, error)
}

// counter is a rule on a counter of the member's row: "at least n".
func counter(column string, n int) func(context.Context, bun.IDB, Scope, time.Time) ([]Grant, error) {
	return func(ctx context.Context, db bun.IDB, sc Scope, _ time.Time) ([]Grant, error) {
		var gs []Grant
		err := db.NewSelect().Model((*models.User)(nil)).ColumnExpr("id AS user_id, 0 AS subject").
			Where("id IN (?)", bun.List(sc.Users)).Where("? >= ?", bun.Ident(column), n).Scan(ctx, &gs)
		return gs, wrap(err, column)
	}
}

// likedPosts finds posts of the members with at least n likes (one post when the event names it).
func likedPosts(n int) func(context.Context, bun.IDB, Scope, time.Time) ([]Grant, error) {
	return func(ctx context.Context, db bun.IDB, sc Scope, _ time.Time) ([]Grant, error) {
		var gs []Grant
		q := db.NewSelect().Model((*models.Post)(nil)).ColumnExpr("user_id, id AS subject").
			Where("user_id IN (?)", bun.List(sc.Users)).Where("like_count >= ?", n).Where("removed_at IS NULL")
		if sc.PostID != 0 {
			q.Where("id = ?", sc.PostID)
		}
		err := q.Scan(ctx, &gs)
		return gs, wrap(err, "liked posts")
	}
}

func popularTopics(ctx context.Context, db bun.IDB, sc Scope, _ time.Time) ([]Grant, error) {
	var gs []Grant
	q := db.NewSelect().Model((*models.Topic)(nil)).ColumnExpr("user_id, id AS subject").
		Where("user_id IN (?)", bun.List(sc.Users)).Where("view_count >= ?", models.PopularViews).Where("removed_at IS NULL")
	if len(sc.Topics) > 0 {
		q.Where("id IN (?)", bun.List(sc.Topics))
	}
	err := q.Scan(ctx, &gs)
	return gs, wrap(err, "popular topics")
}

// anniversaries grants one badge per full year since joining.
func anniversaries(ctx context.Context, db bun.IDB, sc Scope, now time.Time) ([]Grant, error) {
	var us []*models.User
	err := db.NewSelect().Model(&us).Column("id", "created_at").Where("id IN (?)", bun.List(sc.Users)).
		Where("created_at <= ?", now.AddDate(-1, 0, 0)).Scan(ctx)
	if err != nil {
		return nil, wrap(err, "anniversaries")
	}
	var gs []Grant
	for _, u := range us {
		for y := 1; !u.CreatedAt.AddDate(y, 0, 0).After(now); y++ {
			gs = append(gs, Grant{UserID: u.ID, Subject: int64(y)})
		}
	}
	return gs, nil
}

func replies(ctx context.Context, db bun.IDB, sc Scope, _ time.Time) ([]Grant, error) {
	var gs []Grant
	err := db.NewSelect().Model((*models.User)(nil)).ColumnExpr("id AS user_id, 0 AS subject").
		Where("id IN (?)", bun.List(sc.Users)).Where("post_count > topic_count").Scan(ctx, &gs)
	return gs, wrap(err, "replies")
}

func guidelines(ctx context.Context, db bun.IDB, sc Scope, _ time.Time) ([]Grant, error) {
	var gs []Grant
	err := db.NewSelect().Model((*models.User)(nil)).ColumnExpr("id AS user_id, 0 AS subject").
		Where("id IN (?)", bun.List(sc.Users)).Where("guidelines_read_at IS NOT NULL").Scan(ctx, &gs)
	return gs, wrap(err, "guidelines")
}

func wrap(err error, what string) error {
	if err != nil {
		return fmt.Errorf("badge rule %s: %w", what, err)
	}
	return nil
}

// Rules are every badge the engine grants. A rule's key never changes: it
// ties the rule to its row in badges. Add rules at the end and run
// `agora badges backfill` to grant them to those who already qualify.
var Rules = []Rule{
	{Key: "first_topic", Name: "Curious", Description: "Started a first topic", Tier: models.TierBronze, Icon: "question",
		On: []string{models.EventTopic}, Qualifies: counter("topic_count", 1)},
	{Key: "first_reply", Name: "Helping hand", Description: "Posted a first reply", Tier: models.TierBronze, Icon: "reply",
		On: []string{models.EventReply}, Qualifies: replies},
	{Key: "first_like", Name: "Appreciative", Description: "Liked a post for the first time", Tier: models.TierBronze, Icon: "heart",
		On: []string{models.EventLike}, Qualifies: counter("likes_given", 1)},
	{Key: "first_solution", Name: "Problem solver", Description: "A reply was chosen as the best answer", Tier: models.TierBronze,
		Icon: "check", On: []string{models.EventSolution}, Qualifies: counter("solution_count", 1)},
	{Key: "solutions_10", Name: "Go-to person", Description: "10 replies chosen as the best answer", Tier: models.TierSilver,
		Icon: "check", On: []string{models.EventSolution}, Qualifies: counter("solution_count", 10)},
	{Key: "solutions_100", Name: "Oracle", Description: "100 replies chosen as the best answer", Tier: models.TierGold,
		Icon: "check", On: []string{models.EventSolution}, Qualifies: counter("solution_count", 100)},
	{Key: "post_likes_10", Name: "Nice post", Description: "A post that got 10 likes", Tier: models.TierBronze, Icon: "heart",
		Repeatable: true, On: []string{models.EventLike}, Qualifies: likedPosts(10)},
	{Key: "post_likes_100", Name: "Great post", Description: "A post that got 100 likes", Tier: models.TierGold, Icon: "heart",
		Repeatable: true, On: []string{models.EventLike}, Qualifies: likedPosts(100)},
	{Key: "topic_views_1000", Name: "Popular topic", Description: "Started a topic viewed 1,000 times", Tier: models.TierSilver,
		Icon: "eye", Repeatable: true, On: []string{models.EventViews}, Qualifies: popularTopics},
	{Key: "visits_10", Name: "Regular visitor", Description: "Visited on 10 different days", Tier: models.TierBronze,
		Icon: "calendar", On: []string{models.EventVisit}, Qualifies: counter("days_visited", 10)},
	{Key: "visits_100", Name: "Devoted", Description: "Visited on 100 different days", Tier: models.TierGold,
		Icon: "calendar", On: []string{models.EventVisit}, Qualifies: counter("days_visited", 100)},
	{Key: "read_guidelines", Name: "Read the guidelines", Description: "Read the community guidelines", Tier: models.TierBronze,
		Icon: "book", On: []string{models.EventGuidelines}, Qualifies: guidelines},
	{Key: "first_flag", Name: "Watchful", Description: "A first flag that moderators upheld", Tier: models.TierBronze,
		Icon: "flag", On: []string{models.EventFlagResolved}, Qualifies: counter("flags_agreed", 1)},
	{Key: "anniversary", Name: "Anniversary", Description: "A member for another full year", Tier: models.TierSilver,
		Icon: "cake", Repeatable: true, On: []string{models.EventVisit}, Qualifies: anniversaries},
	{Key: "level_2", Name: "Member", Description: "Reached level 2", Tier: models.TierBronze, Icon: "level",
		On: []string{models.EventLevel}, Qualifies: counter("level", 2)},
	{Key: "level_3", Name: "Regular", Description: "Reached level 3", Tier: models.TierBronze, Icon: "level",
		On: []string{models.EventLevel}, Qualifies: counter("level", 3)},
	{Key: "level_4", Name: "Trusted", Description: "Reached level 4", Tier: models.TierSilver, Icon: "level",
		On: []string{models.EventLevel}, Qualifies: counter("level", 4)},
	{Key: "level_5", Name: "Leader", Description: "Reached level 5", Tier: models.TierGold, Icon: "level",
		On: []string{models.EventLevel}, Qualifies: counter("level", 5)},
}

// Icons are the badge icons in assets/badges, by name: the rules' and what
// admins choose from for a badge of their own.
var Icons = []string{"star", "question", "reply", "heart", "check", "eye", "calendar", "book", "flag", "cake", "level", "trophy"}
