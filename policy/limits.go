package policy

import (
	"strconv"
	"time"

	"agora/models"
)

// Limit allows Max events in each window of Per.
type Limit struct {
	Max int
	Per time.Duration
}

// Action is what a member's limit counts.
type Action string

// The actions limited per member by level.
const (
	ActTopic Action = "topic" // starting a topic
	ActReply Action = "reply" // replying
	ActFlag  Action = "flag"  // flagging a post
)

// memberLimits is how often a member may act, by level (index 0 is level 1,
// the last is level 5 and above). New members also have their first-day caps
// (NewMemberPace); staff are not limited. docs/scale-out.md shows this table.
var memberLimits = map[Action][5]Limit{
	ActTopic: {{5, time.Hour}, {10, time.Hour}, {20, time.Hour}, {30, time.Hour}, {60, time.Hour}},
	ActReply: {{20, time.Hour}, {60, time.Hour}, {120, time.Hour}, {180, time.Hour}, {300, time.Hour}},
	ActFlag:  {{20, time.Hour}, {20, time.Hour}, {30, time.Hour}, {40, time.Hour}, {60, time.Hour}},
}

// MemberLimit is how often u may do a, and false when u is not limited
// (staff, or an action without a limit).
func MemberLimit(u *models.User, a Action) (Limit, bool) {
	byLevel, ok := memberLimits[a]
	if !ok || u == nil || u.IsStaff() {
		return Limit{}, false
	}
	return byLevel[min(max(u.Level, 1), len(byLevel))-1], true
}

// Limits per client address (after trusted proxies), and the API's per
// token, member or guest address, whose Max is AGORA_RATE_LIMIT.
var (
	// SignInPerAddress: sign-in, registration and every form that checks a
	// password or sends mail share this budget (app.Deps.AuthRateLimit overrides Max).
	SignInPerAddress = Limit{20, time.Minute}
	// RegisterPerAddress: accounts created from one address.
	RegisterPerAddress = Limit{5, time.Hour}
	// SearchPerAddress: searches (page and API, similar topics included).
	SearchPerAddress = Limit{60, time.Minute}
	// APIPerClient is the API's window.
	APIPerClient = time.Minute
)

// Login backoff per account and address (by the login typed, so unknown
// names back off the same way and reveal nothing): the LoginFreeFailures-th
// failure in a row locks sign-in to the account from that address for
// LoginBackoffBase, and each one after it for twice the last wait, up to
// LoginBackoffCap. A success resets it;
// failures are forgotten LoginFailureWindow after the first.
const (
	LoginFreeFailures  = 5
	LoginBackoffBase   = 30 * time.Second
	LoginBackoffCap    = 15 * time.Minute
	LoginFailureWindow = time.Hour
)

// LoginBackoff is how long sign-in stays locked after the failures-th
// failed attempt in a row (0: not locked).
func LoginBackoff(failures int) time.Duration {
	if failures < LoginFreeFailures {
		return 0
	}
	wait := LoginBackoffBase
	for i := LoginFreeFailures; i < failures && wait < LoginBackoffCap; i++ {
		wait *= 2
	}
	return min(wait, LoginBackoffCap)
}

// LoginLocked is the refusal while an account's sign-in is locked.
func LoginLocked(wait time.Duration) error {
	return &models.RateLimitError{RetryAfter: wait, Limit: LoginFreeFailures, Message: "too many failed sign-ins for this account; try again in " + inWords(wait)}
}

// TooOften is the refusal of the event over l, retryable after wait.
func TooOften(l Limit, what string, wait time.Duration) error {
	return &models.RateLimitError{RetryAfter: wait, Limit: l.Max,
		Message: "you can " + what + " at most " + strconv.Itoa(l.Max) + " times " + per(l.Per) + "; try again in " + inWords(wait)}
}

func per(d time.Duration) string {
	switch d {
	case time.Minute:
		return "a minute"
	case time.Hour:
		return "an hour"
	}
	return "in " + inWords(d)
}
