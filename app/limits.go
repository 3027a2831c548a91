package app

import (
	"context"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"agora/accounts"
	"agora/forum"
	"agora/models"
	"agora/moderation"
	"agora/policy"
	"agora/ratelimit"
)

// Rate limits (the numbers are policy's, the table is in docs/scale-out.md).
// Counters live in the store every node shares (s.Limits), so a client
// meets the same limit whichever node it reaches. Two ways to apply one:
//   - rateLimit, a route's middleware, counts every request (the API per
//     client, sign-in per address, search per address, exports), large
//     budgets a lease at a time (ratelimit.Service.Take);
//   - counted, around the write in the handler, counts only what landed
//     (topics, replies, flags, new accounts), and its refusal is an error
//     of the form, which is shown again with what was typed.
//
// Both set X-RateLimit-Limit, -Remaining and -Reset (seconds) on every
// response they apply to; a refusal is a *models.RateLimitError: 429 with
// Retry-After (errors.go).

// localLimit holds the tightest ratelimit.Result of the request so far.
const localLimit = "rate_limit"

// rateLimit counts each request of client(c) under kind against limit(c)
// (ok false: not limited); what says what was limited ("search").
func (s *server) rateLimit(kind, what string, limit func(*fiber.Ctx) (policy.Limit, bool), client func(*fiber.Ctx) string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if l, ok := limit(c); ok {
			if _, err := s.take(c, s.Limits.Take, kind, client(c), l, what); err != nil {
				return err
			}
		}
		return c.Next()
	}
}

// fixed is a limit that every request has.
func fixed(l policy.Limit) func(*fiber.Ctx) (policy.Limit, bool) {
	return func(*fiber.Ctx) (policy.Limit, bool) { return l, true }
}

// abuse is l when AGORA_ABUSE_LIMITS is on.
func (s *server) abuse(l policy.Limit) func(*fiber.Ctx) (policy.Limit, bool) {
	return func(*fiber.Ctx) (policy.Limit, bool) { return l, s.Config.AbuseLimits }
}

// take counts one event with count (the Limits service's Take or TakeOne)
// and sets the headers; it returns the counter's key.
func (s *server) take(c *fiber.Ctx, count func(context.Context, string, policy.Limit, string) (ratelimit.Result, error),
	kind, client string, l policy.Limit, what string) (string, error) {
	key := ratelimit.Key(kind, client)
	r, err := count(c.UserContext(), key, l, what)
	var rle *models.RateLimitError
	if err != nil && !errors.As(err, &rle) {
		// Open: a budget is a brake, and a store that is down must not take
		// the forum down with it (sign-in's backoff, a lock, fails closed).
		s.logStoreError(err)
		return "", nil
	}
	setLimitHeaders(c, r)
	return key, err
}

// counted runs do within client's limit l of kind: counted first, so racing
// requests cannot all pass, and taken back when do fails or is refused.
func (s *server) counted(c *fiber.Ctx, kind, client string, l policy.Limit, what string, do func() error) error {
	key, err := s.take(c, s.Limits.TakeOne, kind, client, l, what)
	if err == nil {
		err = do()
	}
	if err != nil && key != "" {
		if uerr := s.Limits.Undo(context.WithoutCancel(c.UserContext()), key); uerr != nil {
			s.Log.Warn("take back a rate-limit hit", "kind", kind, "err", uerr)
		}
	}
	return err
}

// errLimitsUnavailable answers a sign-in while the store of the limits fails.
var errLimitsUnavailable = errors.New("signing in is unavailable for a moment; try again shortly")

// logStoreError logs a failing store once a minute (s.storeErrorLogged):
// enough to tell, where every request would flood the log.
func (s *server) logStoreError(err error) {
	now, last := time.Now().UnixNano(), s.storeErrorLogged.Load()
	if now-last >= int64(time.Minute) && s.storeErrorLogged.CompareAndSwap(last, now) {
		s.Log.Error("rate-limit store failing: budgets are not counted, sign-in is refused", "err", err)
	}
}

// actionWhat says what a member's limit counts, for its refusal.
var actionWhat = map[policy.Action]string{
	policy.ActTopic: "start topics", policy.ActReply: "reply", policy.ActFlag: "flag posts",
}

// byLevel runs do within the signed-in member's limit for a (policy.MemberLimit).
func (s *server) byLevel(c *fiber.Ctx, a policy.Action, do func() error) error {
	u := currentUser(c)
	l, ok := policy.MemberLimit(u, a)
	if !ok || !s.Config.AbuseLimits {
		return do()
	}
	return s.counted(c, string(a), strconv.FormatInt(u.ID, 10), l, actionWhat[a], do)
}

// registering runs do (creating an account) within the address's budget.
func (s *server) registering(c *fiber.Ctx, do func() error) error {
	if !s.Config.AbuseLimits {
		return do()
	}
	return s.counted(c, "register", c.IP(), policy.RegisterPerAddress, "create accounts", do)
}

// setLimitHeaders tells the client where it stands, unless a tighter limit
// of the same request told it already.
func setLimitHeaders(c *fiber.Ctx, r ratelimit.Result) {
	if prev, ok := c.Locals(localLimit).(ratelimit.Result); ok && prev.Remaining <= r.Remaining {
		return
	}
	c.Locals(localLimit, r)
	c.Set("X-RateLimit-Limit", strconv.Itoa(r.Limit))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(r.Remaining))
	c.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil(r.Reset.Seconds()))))
}

// clientKey identifies the caller: the member when signed in (every token
// and session of theirs shares one budget: a token per sign-in must not
// multiply it), else the IP.
func clientKey(c *fiber.Ctx) string {
	if u := currentUser(c); u != nil {
		return "u" + strconv.FormatInt(u.ID, 10)
	}
	return "ip" + c.IP()
}

func address(c *fiber.Ctx) string { return c.IP() }

// The writes with a limit, each within it (pages and API alike).

func (s *server) register(c *fiber.Ctx, in accounts.RegisterInput) (u *models.User, err error) {
	err = s.registering(c, func() error { u, err = s.Accounts.Register(c.UserContext(), in); return err })
	return u, err
}

func (s *server) createTopic(c *fiber.Ctx, in forum.TopicInput) (t *models.Topic, p *models.Post, err error) {
	err = s.byLevel(c, policy.ActTopic, func() error {
		t, p, err = s.Forum.CreateTopic(c.UserContext(), currentUser(c), in)
		return err
	})
	return t, p, err
}

func (s *server) reply(c *fiber.Ctx, topicID int64, body string, replyTo *int64) (p *models.Post, err error) {
	err = s.byLevel(c, policy.ActReply, func() error {
		p, err = s.Forum.Reply(c.UserContext(), currentUser(c), topicID, body, replyTo)
		return err
	})
	return p, err
}

func (s *server) flag(c *fiber.Ctx, postID int64, reason, note string) (r *moderation.FlagResult, err error) {
	err = s.byLevel(c, policy.ActFlag, func() error {
		r, err = s.Moderation.Flag(c.UserContext(), currentUser(c), postID, reason, note)
		return err
	})
	return r, err
}
