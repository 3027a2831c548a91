// Package badges is the recognition members earn: the engine that grants
// the rule badges (rules.go) from events and by backfill, and the badges
// admins make and grant by hand. Every grant is idempotent. It knows nothing of HTTP.
package badges

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/models"
	"agora/moderation"
	"agora/policy"
)

// Service grants and lists badges over one database.
type Service struct {
	db     *bun.DB
	now    func() time.Time
	rules  []Rule
	byRule map[string]*models.Badge
}

// New returns a Service for rules after making sure each has its row in
// badges; now may be nil for time.Now.
func New(ctx context.Context, db *bun.DB, now func() time.Time, rules []Rule) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	s := &Service{db: db, now: now, rules: rules, byRule: map[string]*models.Badge{}}
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, r := range rules {
			b := &models.Badge{Name: r.Name, Description: r.Description, Tier: r.Tier, Rule: r.Key, Icon: r.Icon,
				Repeatable: r.Repeatable, CreatedAt: s.clock()}
			if err := models.SyncRuleBadge(ctx, tx, b); err != nil {
				return err
			}
			s.byRule[r.Key] = b
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sync badges: %w", err)
	}
	return s, nil
}

func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Check grants, inside tx, the rule badges that ev may have earned its members.
func (s *Service) Check(ctx context.Context, tx bun.Tx, ev models.Event) error {
	sc := Scope{Users: ev.Users, PostID: ev.PostID, Topics: ev.Topics}
	for _, r := range s.rules {
		if slices.Contains(r.On, ev.Kind) {
			if _, err := s.apply(ctx, tx, r, sc); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply grants rule r to whoever in sc qualifies and returns how many grants were new.
func (s *Service) apply(ctx context.Context, tx bun.IDB, r Rule, sc Scope) (int, error) {
	if len(sc.Users) == 0 {
		return 0, nil
	}
	now := s.clock()
	gs, err := r.Qualifies(ctx, tx, sc, now)
	if err != nil {
		return 0, err
	}
	b, n := s.byRule[r.Key], 0
	for _, g := range gs {
		ok, err := models.GrantBadge(ctx, tx, b, g.UserID, g.Subject, "", now)
		if err != nil {
			return n, err
		}
		if ok {
			n++
			if err := notifyGrant(ctx, tx, b, g.UserID, now); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func notifyGrant(ctx context.Context, tx bun.IDB, b *models.Badge, userID int64, now time.Time) error {
	return models.CreateNotification(ctx, tx, &models.Notification{UserID: userID, Kind: models.NotifyBadge,
		Message: "You earned the " + b.Tier + " badge " + b.Name + ": " + b.Description, CreatedAt: now})
}

// BackfillBatch is how many members the backfill handles per transaction.
const BackfillBatch = 500

// Backfill runs every rule over every member, a batch per transaction, and
// returns how many badges it granted: what grants a rule added later to
// those who already qualify. Running it again grants nothing new.
// progress, when not nil, is told how many members are done out of how many.
func (s *Service) Backfill(ctx context.Context, progress func(done, total int)) (int, error) {
	total, err := models.CountMembers(ctx, s.db)
	if err != nil {
		return 0, err
	}
	granted, done := 0, 0
	var after int64
	for {
		ids, err := models.MemberIDs(ctx, s.db, after, BackfillBatch)
		if err != nil || len(ids) == 0 {
			return granted, err
		}
		after = ids[len(ids)-1]
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			for _, r := range s.rules {
				n, err := s.apply(ctx, tx, r, Scope{Users: ids})
				granted += n
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return granted, err
		}
		done += len(ids)
		if progress != nil {
			progress(min(done, max(total, done)), max(total, done))
		}
	}
}

// List returns every badge with its holder count, by tier then name.
func (s *Service) List(ctx context.Context) ([]*models.Badge, error) {
	return models.ListBadges(ctx, s.db)
}

// Holder is one member holding a badge (User nil: a former member).
type Holder struct {
	User *models.User
	Held *models.UserBadge
}

// Holders returns the badge and a page (from 1) of its holders, latest first, with their total.
func (s *Service) Holders(ctx context.Context, badgeID int64, page, perPage int) (*models.Badge, []Holder, int, error) {
	b, err := models.BadgeByID(ctx, s.db, badgeID)
	if err != nil {
		return nil, nil, 0, err
	}
	ubs, total, err := models.BadgeHolders(ctx, s.db, badgeID, page, perPage)
	if err != nil {
		return nil, nil, 0, err
	}
	ids := make([]int64, len(ubs))
	for i, ub := range ubs {
		ids[i] = ub.UserID
	}
	us, err := models.AuthorsByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, nil, 0, err
	}
	hs := make([]Holder, len(ubs))
	for i, ub := range ubs {
		hs[i] = Holder{User: us[ub.UserID], Held: ub}
	}
	return b, hs, total, nil
}

// Of returns the badges a member holds, most recently earned first.
func (s *Service) Of(ctx context.Context, userID int64) ([]models.Holding, error) {
	return models.BadgesOfUser(ctx, s.db, userID)
}

// Input is a badge an admin makes.
type Input struct {
	Name, Description, Tier, Icon string
}

// Create makes a badge admins grant by hand, logged.
// Errors: ErrNotAdmin, *models.ValidationError, *models.ConflictError.
func (s *Service) Create(ctx context.Context, admin *models.User, in Input) (*models.Badge, error) {
	if err := policy.Admin(admin); err != nil {
		return nil, err
	}
	in.Name, in.Description = strings.TrimSpace(in.Name), strings.TrimSpace(in.Description)
	v := &models.ValidationError{}
	if n := utf8.RuneCountInString(in.Name); n < 2 || n > 40 {
		v.Add("name", "give the badge a name of 2 to 40 characters")
	}
	if n := utf8.RuneCountInString(in.Description); n < 1 || n > 200 {
		v.Add("description", "say in up to 200 characters what the badge is for")
	}
	if !models.ValidTier(in.Tier) {
		v.Add("tier", "choose bronze, silver or gold")
	}
	if !slices.Contains(Icons, in.Icon) {
		v.Add("icon", "choose one of the icons")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	now := s.clock()
	b := &models.Badge{Name: in.Name, Description: in.Description, Tier: in.Tier, Icon: in.Icon, CreatedAt: now}
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.CreateBadge(ctx, tx, b); err != nil {
			return err
		}
		_, err := moderation.Record(ctx, tx, moderation.Entry{ModeratorID: &admin.ID, Action: moderation.ActCreateBadge,
			TargetType: moderation.TargetBadge, TargetID: b.ID, Details: map[string]any{"name": b.Name, "tier": b.Tier}}, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// ErrRuleBadge: the engine grants rule badges; only hand-made ones are granted or revoked by hand.
var ErrRuleBadge error = &models.ForbiddenError{Code: "rule_badge",
	Message: "this badge is granted by its rule; only badges made by admins are granted or revoked by hand"}

// Grant gives a hand-made badge to a member, logged and notified. It
// reports whether the member did not hold it yet.
// Errors: ErrNotAdmin, ErrNotFound, ErrRuleBadge, *models.ValidationError.
func (s *Service) Grant(ctx context.Context, admin *models.User, badgeID, userID int64, reason string) (bool, error) {
	return s.byHand(ctx, admin, badgeID, userID, reason, true)
}

// Revoke takes a hand-made badge from a member, logged. It reports whether they held it.
func (s *Service) Revoke(ctx context.Context, admin *models.User, badgeID, userID int64, reason string) (bool, error) {
	return s.byHand(ctx, admin, badgeID, userID, reason, false)
}

func (s *Service) byHand(ctx context.Context, admin *models.User, badgeID, userID int64, reason string, grant bool) (bool, error) {
	if err := policy.Admin(admin); err != nil {
		return false, err
	}
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > 300 {
		return false, &models.ValidationError{Fields: map[string]string{"reason": "keep the reason under 300 characters"}}
	}
	now := s.clock()
	var changed bool
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		b, err := models.BadgeByID(ctx, tx, badgeID)
		if err != nil {
			return err
		}
		if !b.Manual() {
			return ErrRuleBadge
		}
		u, err := models.UserByID(ctx, tx, userID)
		if err != nil {
			return err
		}
		action := moderation.ActRevokeBadge
		if grant {
			action = moderation.ActGrantBadge
			changed, err = models.GrantBadge(ctx, tx, b, u.ID, 0, reason, now)
			if err == nil && changed {
				err = notifyGrant(ctx, tx, b, u.ID, now)
			}
		} else {
			changed, err = models.RevokeBadge(ctx, tx, b, u.ID)
		}
		if err != nil || !changed {
			return err
		}
		_, err = moderation.Record(ctx, tx, moderation.Entry{ModeratorID: &admin.ID, Action: action,
			TargetType: moderation.TargetBadge, TargetID: b.ID, TargetUserID: &u.ID, Reason: reason,
			Details: map[string]any{"badge": b.Name}}, now)
		return err
	})
	return changed, err
}
