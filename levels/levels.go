// Package levels computes member levels (1 to 5) from what members did,
// minus penalties of the last 90 days, against the thresholds admins edit.
// A level is recomputed on the events that change it (two indexed queries per
// member) and by a nightly pass; staff may lock one. It knows nothing of HTTP.
package levels

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/moderation"
	"agora/policy"
)

// Levels run from Min to Max.
const (
	Min = 1
	Max = 5
)

// Names are the levels' names, by level.
var Names = [Max + 1]string{"", "New member", "Member", "Regular", "Trusted", "Leader"}

// PenaltyWindow is how long a penalty counts against a level.
const PenaltyWindow = 90 * 24 * time.Hour

// SuspensionPenalty is what one suspension weighs; a removed post and an
// upheld flag against the member weigh one each.
const SuspensionPenalty = 3

// Points returns the penalty points of p.
func Points(p models.Penalties) int {
	return p.Removed + p.FlagsUpheld + SuspensionPenalty*p.Suspensions
}

// Requirement is one condition of a level with where the member stands.
type Requirement struct {
	Name string `json:"name"`
	Have int    `json:"have"`
	Need int    `json:"need"`
	// AtMost: Need is a ceiling (penalty points), not a floor.
	AtMost bool `json:"at_most,omitempty"`
	Met    bool `json:"met"`
}

// Missing is how far the member is from meeting r (0 when met).
func (r Requirement) Missing() int {
	if r.Met {
		return 0
	}
	if r.AtMost {
		return r.Have - r.Need
	}
	return r.Need - r.Have
}

// Requirements lists where u stands against t at now, with penalty points pts.
func Requirements(u *models.User, pts int, t *models.LevelThreshold, now time.Time) []Requirement {
	joined := int(now.Sub(u.CreatedAt) / (24 * time.Hour))
	rs := []Requirement{
		{Name: "days since joining", Have: joined, Need: t.DaysJoined},
		{Name: "days visited", Have: u.DaysVisited, Need: t.DaysVisited},
		{Name: "topics read", Have: u.TopicsRead, Need: t.TopicsRead},
		{Name: "posts read", Have: u.PostsRead, Need: t.PostsRead},
		{Name: "replies posted", Have: u.PostCount - u.TopicCount, Need: t.Replies},
		{Name: "likes given", Have: u.LikesGiven, Need: t.LikesGiven},
		{Name: "likes received", Have: u.LikesReceived, Need: t.LikesReceived},
		{Name: "best answers", Have: u.SolutionCount, Need: t.Solutions},
	}
	for i := range rs {
		rs[i].Met = rs[i].Have >= rs[i].Need
	}
	return append(rs, Requirement{Name: "penalty points in the last 90 days", Have: pts, Need: t.MaxPenalty,
		AtMost: true, Met: pts <= t.MaxPenalty})
}

func met(rs []Requirement) bool {
	for _, r := range rs {
		if !r.Met {
			return false
		}
	}
	return true
}

// Computed is the highest level whose thresholds (and every lower one's) u meets.
func Computed(u *models.User, pts int, ts []*models.LevelThreshold, now time.Time) int {
	level := Min
	for _, t := range ts {
		if t.Level != level+1 || !met(Requirements(u, pts, t, now)) {
			break
		}
		level = t.Level
	}
	return level
}

// Next is the level a member at stored goes to when the thresholds give
// computed: up at once; levels 1 and 2, once reached, are kept (they only
// lift the new-member limits); 3 and above follow the thresholds down, to 2.
func Next(stored, computed int) int {
	switch {
	case computed >= stored:
		return computed
	case stored <= 2:
		return stored
	default:
		return max(computed, 2)
	}
}

// Unlocks says what reaching level brings.
func Unlocks(level int) []string {
	out := []string{"your flags weigh " + strconv.Itoa(1+level) + " (1 + your level)"}
	if level == 2 {
		out = append([]string{"any number of links, images and video embeds in a post",
			"no limit on new topics and replies in your first day"}, out...)
	}
	return out
}

// Change is one member's level change.
type Change struct {
	UserID   int64
	From, To int
}

// Service computes, stores and locks levels over one database.
type Service struct {
	db  *bun.DB
	now func() time.Time
	// Changed, when set, runs in the transaction that changed levels (badges).
	Changed func(ctx context.Context, tx bun.Tx, cs []Change) error

	mu      sync.Mutex
	ts      []*models.LevelThreshold
	tsUntil time.Time
}

// thresholdsTTL bounds how long another node's threshold edit takes to apply.
const thresholdsTTL = time.Minute

// New returns a Service; now may be nil for time.Now.
func New(db *bun.DB, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	return &Service{db: db, now: now}
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Thresholds returns the thresholds of levels 2 to 5, cached for a minute.
func (s *Service) Thresholds(ctx context.Context) ([]*models.LevelThreshold, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ts != nil && s.now().Before(s.tsUntil) {
		return s.ts, nil
	}
	ts, err := models.ListLevelThresholds(ctx, s.db)
	if err != nil {
		return nil, err
	}
	s.ts, s.tsUntil = ts, s.now().Add(thresholdsTTL)
	return ts, nil
}

func (s *Service) forget() {
	s.mu.Lock()
	s.ts = nil
	s.mu.Unlock()
}

// Recompute brings the levels of the members ids up to date inside tx: one
// query for their rows and one for their penalties, then a write for each
// member whose level changed (with a notification). Locked levels stay.
func (s *Service) Recompute(ctx context.Context, tx bun.Tx, ids []int64) ([]Change, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	us, err := models.UsersByIDs(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	list := make([]*models.User, 0, len(us))
	for _, u := range us {
		if u != nil {
			list = append(list, u)
		}
	}
	return s.apply(ctx, tx, list)
}

func (s *Service) apply(ctx context.Context, tx bun.Tx, us []*models.User) ([]Change, error) {
	ts, err := s.Thresholds(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	ids := make([]int64, 0, len(us))
	for _, u := range us {
		if !u.LevelLocked && u.DeletedAt == nil {
			ids = append(ids, u.ID)
		}
	}
	ps, err := models.PenaltiesSince(ctx, tx, ids, now.Add(-PenaltyWindow))
	if err != nil {
		return nil, err
	}
	var cs []Change
	for _, u := range us {
		if u.LevelLocked || u.DeletedAt != nil {
			continue
		}
		to := Next(u.Level, Computed(u, Points(ps[u.ID]), ts, now))
		if to == u.Level {
			continue
		}
		if err := models.SetUserLevel(ctx, tx, u.ID, to, false, now); err != nil {
			return nil, err
		}
		if err := notifyLevel(ctx, tx, u.ID, u.Level, to, now); err != nil {
			return nil, err
		}
		cs = append(cs, Change{UserID: u.ID, From: u.Level, To: to})
	}
	if len(cs) > 0 && s.Changed != nil {
		if err := s.Changed(ctx, tx, cs); err != nil {
			return nil, err
		}
	}
	return cs, nil
}

func notifyLevel(ctx context.Context, tx bun.IDB, userID int64, from, to int, now time.Time) error {
	msg := fmt.Sprintf("You reached level %d (%s)", to, Names[to])
	if to < from {
		msg = fmt.Sprintf("Your level is now %d (%s): see your profile for what level %d needs", to, Names[to], from)
	}
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: userID, Kind: models.NotifyLevel,
		Message: msg, CreatedAt: now})
}

// NightlyBatch is how many members the nightly pass handles per transaction.
const NightlyBatch = 500

// Nightly recomputes every member's level, a batch per transaction, and
// returns how many changed: it promotes those whose penalties expired or
// whose time came, and demotes from 3+ those below the thresholds now.
func (s *Service) Nightly(ctx context.Context) (int, error) {
	s.forget()
	changed := 0
	var after int64
	for {
		us, err := models.LevelMembers(ctx, s.db, after, NightlyBatch)
		if err != nil || len(us) == 0 {
			return changed, err
		}
		after = us[len(us)-1].ID
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			cs, err := s.apply(ctx, tx, us)
			changed += len(cs)
			return err
		})
		if err != nil {
			return changed, err
		}
	}
}

// Standing is where a member stands: their level and what the next one needs.
type Standing struct {
	Level   int        `json:"level"`
	Name    string     `json:"name"`
	Locked  bool       `json:"locked"`
	Penalty int        `json:"penalty_points"`
	Next    *NextLevel `json:"next"` // nil at the top level
}

// NextLevel is the level above with what is still missing.
type NextLevel struct {
	Level        int           `json:"level"`
	Name         string        `json:"name"`
	Requirements []Requirement `json:"requirements"`
	Unlocks      []string      `json:"unlocks"`
}

// StandingOf returns u's standing: two queries (thresholds are cached).
func (s *Service) StandingOf(ctx context.Context, u *models.User) (*Standing, error) {
	ts, err := s.Thresholds(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := models.PenaltiesSince(ctx, s.db, []int64{u.ID}, s.clock().Add(-PenaltyWindow))
	if err != nil {
		return nil, err
	}
	level := min(max(u.Level, Min), Max)
	st := &Standing{Level: level, Name: Names[level], Locked: u.LevelLocked, Penalty: Points(ps[u.ID])}
	for _, t := range ts {
		if t.Level == level+1 {
			st.Next = &NextLevel{Level: t.Level, Name: Names[t.Level],
				Requirements: Requirements(u, st.Penalty, t, s.clock()), Unlocks: Unlocks(t.Level)}
		}
	}
	return st, nil
}

// Lock sets u's level by hand and keeps it from changing until Unlock.
// Errors: ErrNotStaff, ErrNotFound, *models.ValidationError.
func (s *Service) Lock(ctx context.Context, staff *models.User, userID int64, level int, reason string) (*models.User, error) {
	if err := policy.Staff(staff); err != nil {
		return nil, err
	}
	if staff.ID == userID {
		return nil, ErrOwnLevel
	}
	if level < Min || level > Max {
		return nil, &models.ValidationError{Fields: map[string]string{"level": "choose a level from 1 to 5"}}
	}
	return s.setLock(ctx, staff, userID, &level, reason)
}

// Unlock lets u's level follow the thresholds again, recomputing it at once.
func (s *Service) Unlock(ctx context.Context, staff *models.User, userID int64, reason string) (*models.User, error) {
	if err := policy.Staff(staff); err != nil {
		return nil, err
	}
	if staff.ID == userID {
		return nil, ErrOwnLevel
	}
	return s.setLock(ctx, staff, userID, nil, reason)
}

// ErrOwnLevel: staff do not set their own level.
var ErrOwnLevel error = &models.ForbiddenError{Code: "own_level", Message: "you cannot set your own level; ask another moderator"}

func (s *Service) setLock(ctx context.Context, staff *models.User, userID int64, level *int, reason string) (*models.User, error) {
	now := s.clock()
	var out *models.User
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		u, err := models.UserByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		e := moderation.Entry{ModeratorID: &staff.ID, TargetType: moderation.TargetUser, TargetID: u.ID,
			TargetUserID: &u.ID, Reason: reason, Details: map[string]any{"from": u.Level}}
		if level != nil {
			e.Action, e.Details["to"] = moderation.ActLockLevel, *level
			if err := models.SetUserLevel(ctx, tx, u.ID, *level, true, now); err != nil {
				return err
			}
			if *level != u.Level {
				if err := notifyLevel(ctx, tx, u.ID, u.Level, *level, now); err != nil {
					return err
				}
				if s.Changed != nil {
					if err := s.Changed(ctx, tx, []Change{{UserID: u.ID, From: u.Level, To: *level}}); err != nil {
						return err
					}
				}
			}
		} else {
			e.Action = moderation.ActUnlockLevel
			if err := models.SetUserLevel(ctx, tx, u.ID, u.Level, false, now); err != nil {
				return err
			}
			u.LevelLocked = false
			if _, err := s.apply(ctx, tx, []*models.User{u}); err != nil {
				return err
			}
		}
		if _, err := moderation.Record(ctx, tx, e, now); err != nil {
			return err
		}
		out, err = models.UserByID(ctx, tx, userID)
		return err
	})
	return out, err
}

// SaveThresholds replaces the thresholds (levels 2 to 5, each at least the
// one below), logged. Errors: ErrNotAdmin, *models.ValidationError.
func (s *Service) SaveThresholds(ctx context.Context, admin *models.User, ts []*models.LevelThreshold) error {
	if err := policy.Admin(admin); err != nil {
		return err
	}
	v := &models.ValidationError{}
	for i, t := range ts {
		if t.Level != i+2 {
			return &models.ValidationError{Fields: map[string]string{"level": "give levels 2 to 5, in order"}}
		}
		for _, n := range t.Values() {
			if n < 0 || n > 1_000_000 {
				v.Add("level_"+strconv.Itoa(t.Level), "use whole numbers from 0 to 1000000")
				break
			}
		}
	}
	if len(ts) != Max-1 {
		v.Add("level", "give levels 2 to 5")
	}
	if err := v.Err(); err != nil {
		return err
	}
	now := s.clock()
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.SaveLevelThresholds(ctx, tx, ts); err != nil {
			return err
		}
		_, err := moderation.Record(ctx, tx, moderation.Entry{ModeratorID: &admin.ID, Action: moderation.ActEditLevels,
			TargetType: moderation.TargetSite, Details: map[string]any{"thresholds": ts}}, now)
		return err
	})
	s.forget()
	return err
}
