package models

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// LevelThreshold is what a member needs to hold one level (2 to 5).
type LevelThreshold struct {
	bun.BaseModel `bun:"table:level_thresholds"`

	Level         int `bun:"level,pk" json:"level"`
	DaysJoined    int `bun:"days_joined" json:"days_joined"`
	DaysVisited   int `bun:"days_visited" json:"days_visited"`
	TopicsRead    int `bun:"topics_read" json:"topics_read"`
	PostsRead     int `bun:"posts_read" json:"posts_read"`
	Replies       int `bun:"replies" json:"replies"`
	LikesGiven    int `bun:"likes_given" json:"likes_given"`
	LikesReceived int `bun:"likes_received" json:"likes_received"`
	Solutions     int `bun:"solutions" json:"solutions"`
	MaxPenalty    int `bun:"max_penalty" json:"max_penalty"`
}

// Values are t's numbers in column order (days_joined … max_penalty), for
// forms and checks that treat them alike.
func (t *LevelThreshold) Values() []int {
	return []int{t.DaysJoined, t.DaysVisited, t.TopicsRead, t.PostsRead, t.Replies, t.LikesGiven, t.LikesReceived,
		t.Solutions, t.MaxPenalty}
}

// SetValues sets t's numbers from v, in the order of Values.
func (t *LevelThreshold) SetValues(v []int) {
	t.DaysJoined, t.DaysVisited, t.TopicsRead, t.PostsRead, t.Replies, t.LikesGiven, t.LikesReceived,
		t.Solutions, t.MaxPenalty = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]
}

// ListLevelThresholds returns the thresholds of levels 2 to 5, in order.
func ListLevelThresholds(ctx context.Context, db bun.IDB) ([]*LevelThreshold, error) {
	var ts []*LevelThreshold
	err := db.NewSelect().Model(&ts).Order("level").Scan(ctx)
	return ts, notFound(err, "list level thresholds")
}

// SaveLevelThresholds replaces the thresholds of the levels given.
func SaveLevelThresholds(ctx context.Context, db bun.IDB, ts []*LevelThreshold) error {
	for _, t := range ts {
		if _, err := db.NewUpdate().Model(t).WherePK().Exec(ctx); err != nil {
			return notFound(err, "save level thresholds")
		}
	}
	return nil
}

// Penalties are what counts against a member's level within a window.
type Penalties struct {
	UserID      int64 `bun:"user_id"`
	Removed     int   `bun:"removed"`      // posts a moderator removed
	FlagsUpheld int   `bun:"flags_upheld"` // flags against their posts that moderators agreed with
	Suspensions int   `bun:"suspensions"`
}

// PenaltiesSince returns the penalties since since of each member in userIDs
// (every member absent from the map has none): one query over three partial
// or per-member indexes.
func PenaltiesSince(ctx context.Context, db bun.IDB, userIDs []int64, since time.Time) (map[int64]Penalties, error) {
	out := map[int64]Penalties{}
	if len(userIDs) == 0 {
		return out, nil
	}
	ids := bun.List(userIDs)
	var rows []Penalties
	err := db.NewRaw(`SELECT user_id, sum(removed) AS removed, sum(flags_upheld) AS flags_upheld, sum(suspensions) AS suspensions FROM (
		SELECT user_id, count(*) AS removed, 0 AS flags_upheld, 0 AS suspensions FROM posts
			WHERE user_id IN (?) AND removed_at IS NOT NULL AND removed_at >= ? GROUP BY user_id
		UNION ALL
		SELECT post_user_id, 0, count(*), 0 FROM flags
			WHERE post_user_id IN (?) AND status = ? AND resolved_at >= ? GROUP BY post_user_id
		UNION ALL
		SELECT user_id, 0, 0, count(*) FROM suspensions WHERE user_id IN (?) AND created_at >= ? GROUP BY user_id
	) p GROUP BY user_id`, ids, since, ids, FlagAgreed, since, ids, since).Scan(ctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("count penalties: %w", err)
	}
	for _, r := range rows {
		out[r.UserID] = r
	}
	return out, nil
}

// LevelMembers returns up to limit members after afterID, by id, with what
// levels are computed from: the nightly pass's page.
func LevelMembers(ctx context.Context, db bun.IDB, afterID int64, limit int) ([]*User, error) {
	var us []*User
	err := db.NewSelect().Model(&us).Where("id > ?", afterID).Where("deleted_at IS NULL").
		Order("id").Limit(int64(limit)).Scan(ctx)
	return us, notFound(err, "list members")
}

// SetUserLevel stores a member's level (and whether staff locked it).
func SetUserLevel(ctx context.Context, db bun.IDB, id int64, level int, locked bool, now time.Time) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("level = ?", level).Set("level_locked = ?", locked).
		Set("updated_at = ?", now).Where("id = ?", id).Exec(ctx)
	return notFound(err, "set level")
}

// CountSolution adds delta to a member's best answers.
func CountSolution(ctx context.Context, db bun.IDB, userID int64, delta int) error {
	_, err := db.NewUpdate().Model((*User)(nil)).Set("solution_count = solution_count + ?", delta).
		Where("id = ?", userID).Exec(ctx)
	return counted(err, "user", userID)
}

// MarkGuidelinesRead records the first time a member read the guidelines;
// it reports whether this was that first time.
func MarkGuidelinesRead(ctx context.Context, db bun.IDB, userID int64, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).Set("guidelines_read_at = ?", now).
		Where("id = ?", userID).Where("guidelines_read_at IS NULL").Exec(ctx)
	if err != nil {
		return false, notFound(err, "mark guidelines read")
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CountVisit counts day (a Unix day number) as a day the member visited,
// once: it reports whether the day was new.
func CountVisit(ctx context.Context, db bun.IDB, userID, day int64, now time.Time) (bool, error) {
	res, err := db.NewUpdate().Model((*User)(nil)).Set("days_visited = days_visited + 1").
		Set("last_visit_day = ?", day).Set("last_seen_at = ?", now).
		Where("id = ?", userID).Where("last_visit_day < ?", day).Exec(ctx)
	if err != nil {
		return false, notFound(err, "count visit")
	}
	n, _ := res.RowsAffected()
	return n > 0, nil
}

// CountRead records that a member read a topic up to post number upTo and
// adds what is new to their topics_read and posts_read; it reports whether
// anything was new.
func CountRead(ctx context.Context, db bun.IDB, userID, topicID int64, upTo int) (bool, error) {
	var rows []struct {
		Posts int  `bun:"posts"`
		Last  *int `bun:"last_post_number"`
	}
	if err := db.NewRaw(`SELECT t.reply_count + 1 AS posts, r.last_post_number FROM topics t
		LEFT JOIN topic_reads r ON r.topic_id = t.id AND r.user_id = ? WHERE t.id = ?`, userID, topicID).
		Scan(ctx, &rows); err != nil {
		return false, fmt.Errorf("load read: %w", err)
	}
	if len(rows) == 0 {
		return false, nil // the topic is gone
	}
	upTo = min(upTo, rows[0].Posts)
	topics, posts := 0, upTo
	if rows[0].Last == nil {
		res, err := db.NewRaw("INSERT INTO topic_reads (user_id, topic_id, last_post_number) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
			userID, topicID, upTo).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("record read: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, nil // another node recorded it first
		}
		topics = 1
	} else {
		last := *rows[0].Last
		if last >= upTo {
			return false, nil
		}
		res, err := db.NewRaw("UPDATE topic_reads SET last_post_number = ? WHERE user_id = ? AND topic_id = ? AND last_post_number = ?",
			upTo, userID, topicID, last).Exec(ctx)
		if err != nil {
			return false, fmt.Errorf("record read: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return false, nil
		}
		posts = upTo - last
	}
	_, err := db.NewUpdate().Model((*User)(nil)).Set("topics_read = topics_read + ?", topics).
		Set("posts_read = posts_read + ?", posts).Where("id = ?", userID).Exec(ctx)
	return true, counted(err, "user", userID)
}

// PopularViews is how many views make a topic popular (a badge).
const PopularViews = 1000
