// Package policy is who may do what: every rule about seeing, writing,
// editing, solving, quoting, flagging and moderating, each defined once.
// The domain services call these before they act, and the pages ask the
// same functions what to offer, so a page and the API always give the same
// answer. A rule takes the objects concerned and the time, returns nil or
// the error to answer with, and never reads the database.
package policy

import (
	"strconv"
	"time"

	"agora/models"
)

// The refusals with their own codes; the rest are models' sentinels.
var (
	// ErrLocked: the topic takes no new replies.
	ErrLocked error = &models.ForbiddenError{Code: "topic_locked", Message: "this topic is locked and takes no new replies"}
	// ErrOwnPost: members cannot like their own posts.
	ErrOwnPost error = &models.ForbiddenError{Code: "own_post", Message: "you cannot like your own post"}
	// ErrOwnFlag: members cannot flag their own posts.
	ErrOwnFlag error = &models.ForbiddenError{Code: "own_post", Message: "you cannot flag your own post"}
	// ErrPostRemoved: a removed post cannot be edited by its author.
	ErrPostRemoved error = &models.ForbiddenError{Code: "post_removed", Message: "a moderator removed this post; it can no longer be edited"}
	// ErrNotStaff: only moderators and admins may do this.
	ErrNotStaff error = &models.ForbiddenError{Code: "staff_only", Message: "only moderators and admins may do this"}
	// ErrNotAdmin: only admins may do this.
	ErrNotAdmin error = &models.ForbiddenError{Code: "forbidden", Message: "only admins may do this"}
	// ErrProtected: moderators cannot suspend admins or other moderators.
	ErrProtected error = &models.ForbiddenError{Code: "protected_user", Message: "moderators cannot suspend admins or other moderators"}
	// ErrSelf: nobody suspends themself.
	ErrSelf error = &models.ForbiddenError{Code: "self", Message: "you cannot suspend yourself"}
	// ErrLastAdmin: the community always keeps one admin.
	ErrLastAdmin error = &models.ConflictError{Field: "role", Message: "this is the last admin; make someone else an admin first"}
)

// SignedIn refuses guests.
func SignedIn(u *models.User) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	return nil
}

// Write refuses guests and suspended members: what every post, reply,
// edit, like and flag needs first, and every change to what others see of
// a member (display name, bio, avatar colour, username).
func Write(u *models.User, now time.Time) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	return u.Suspension(now)
}

// Staff lets moderators and admins through.
func Staff(u *models.User) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	if !u.IsStaff() {
		return ErrNotStaff
	}
	return nil
}

// Admin lets admins through.
func Admin(u *models.User) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	if !u.IsAdmin() {
		return ErrNotAdmin
	}
	return nil
}

// SeeRemoved reports whether viewer may find removed and hidden content
// (search's include=removed).
func SeeRemoved(viewer *models.User) bool { return viewer.IsStaff() }

// SeeArchived reports whether viewer is shown archived categories among
// the categories: admins, who manage them.
func SeeArchived(viewer *models.User) bool { return viewer.IsAdmin() }

// SeeTopic: a removed topic exists only for staff; others get ErrNotFound.
func SeeTopic(viewer *models.User, t *models.Topic) error {
	if t.RemovedAt != nil && !viewer.IsStaff() {
		return models.ErrNotFound
	}
	return nil
}

// Content is how a post's body shows to one viewer.
type Content int

const (
	// Shown: the content, as everyone sees it.
	Shown Content = iota
	// ShownToYou: hidden or removed for others; this viewer (staff, or the
	// author of a post hidden pending review) still sees it.
	ShownToYou
	// Removed: withheld, a moderator removed it.
	Removed
	// Pending: withheld, hidden pending review.
	Pending
)

// Readable reports whether the viewer sees the content.
func (c Content) Readable() bool { return c == Shown || c == ShownToYou }

// PostContent decides how p's content shows to viewer: staff see
// everything, authors see their own posts hidden pending review, nobody else
// sees hidden or removed content.
func PostContent(viewer *models.User, p *models.Post) Content {
	staff := viewer.IsStaff()
	own := viewer != nil && viewer.ID == p.UserID
	switch {
	case p.RemovedAt != nil && !staff:
		return Removed
	case p.HiddenAt != nil && !staff && !own:
		return Pending
	case p.HiddenAt != nil || p.RemovedAt != nil:
		return ShownToYou
	}
	return Shown
}

// Reply: members who are not suspended reply to topics they can see, but
// only staff to locked ones.
func Reply(u *models.User, t *models.Topic, now time.Time) error {
	if err := Write(u, now); err != nil {
		return err
	}
	if err := SeeTopic(u, t); err != nil {
		return err
	}
	if t.Locked && !u.IsStaff() {
		return ErrLocked
	}
	return nil
}

// Answer: a reply may answer (and quote) a post of its topic that is not
// removed and, except for staff, not hidden pending review. It returns the
// reason as a sentence for the reply_to_post_id field, or "".
func Answer(u *models.User, t *models.Topic, p *models.Post) string {
	switch {
	case p == nil || p.TopicID != t.ID:
		return "that post is not in this topic"
	case p.RemovedAt != nil || (p.HiddenAt != nil && !u.IsStaff()):
		return "that post is no longer visible"
	}
	return ""
}

// Quote: who may reply to topic t may quote its posts that a reply may answer.
func Quote(u *models.User, t *models.Topic, p *models.Post, now time.Time) bool {
	return Reply(u, t, now) == nil && Answer(u, t, p) == ""
}

// Edit: staff edit any post; authors edit their own until a moderator
// removes it; nobody while suspended. Posts of removed topics exist only for staff.
func Edit(u *models.User, t *models.Topic, p *models.Post, now time.Time) error {
	if err := SeeTopic(u, t); err != nil {
		return err
	}
	if err := Write(u, now); err != nil {
		return err
	}
	switch {
	case u.IsStaff():
		return nil
	case u.ID != p.UserID:
		return models.ErrForbidden
	case p.RemovedAt != nil:
		return ErrPostRemoved
	}
	return nil
}

// SeeRevisions: a post's history is for its author and staff.
func SeeRevisions(u *models.User, t *models.Topic, p *models.Post) error {
	if u == nil {
		return models.ErrUnauthenticated
	}
	if err := SeeTopic(u, t); err != nil {
		return err
	}
	if u.ID != p.UserID && !u.IsStaff() {
		return models.ErrForbidden
	}
	return nil
}

// Like: members who are not suspended like posts they can read whole (not
// hidden, except for staff), never their own.
func Like(u *models.User, t *models.Topic, p *models.Post, now time.Time) error {
	if err := Write(u, now); err != nil {
		return err
	}
	if err := SeeTopic(u, t); err != nil {
		return err
	}
	if p.RemovedAt != nil || (p.HiddenAt != nil && !u.IsStaff()) {
		return models.ErrNotFound
	}
	if p.UserID == u.ID {
		return ErrOwnPost
	}
	return nil
}

// Solve: the topic's author and staff mark its best answer; nobody while suspended.
func Solve(u *models.User, t *models.Topic, now time.Time) error {
	if err := SeeTopic(u, t); err != nil {
		return err
	}
	if err := Write(u, now); err != nil {
		return err
	}
	if !u.IsStaff() && u.ID != t.UserID {
		return models.ErrForbidden
	}
	return nil
}

// Solution: which posts can be a topic's best answer. It returns the reason
// as a sentence for the post_id field, or "".
func Solution(t *models.Topic, p *models.Post) string {
	switch {
	case p == nil || p.TopicID != t.ID:
		return "that post is not a reply in this topic"
	case p.PostNumber == 1:
		return "the question itself cannot be its answer"
	case p.RemovedAt != nil || p.HiddenAt != nil:
		return "that reply is not visible"
	}
	return ""
}

// Flag: members who are not suspended flag posts of topics they can see,
// not removed ones and not their own.
func Flag(u *models.User, t *models.Topic, p *models.Post, now time.Time) error {
	if err := Write(u, now); err != nil {
		return err
	}
	if err := SeeTopic(u, t); err != nil {
		return err
	}
	if p.RemovedAt != nil {
		return models.ErrNotFound
	}
	if p.UserID == u.ID {
		return ErrOwnFlag
	}
	return nil
}

// Suspend: staff suspend members; only admins suspend moderators; nobody
// suspends an admin or themself.
func Suspend(mod, target *models.User) error {
	if err := Staff(mod); err != nil {
		return err
	}
	switch {
	case mod.ID == target.ID:
		return ErrSelf
	case target.IsAdmin(), target.IsStaff() && !mod.IsAdmin():
		return ErrProtected
	}
	return nil
}

// ChangeRole: admins give roles; the last admin keeps theirs. admins is how
// many admins there are now.
func ChangeRole(actor, target *models.User, role string, admins int) error {
	if err := Admin(actor); err != nil {
		return err
	}
	if !models.ValidRole(role) {
		return &models.ValidationError{Fields: map[string]string{"role": "use member, moderator or admin"}}
	}
	if target.IsAdmin() && role != models.RoleAdmin && admins <= 1 {
		return ErrLastAdmin
	}
	return nil
}

// What level 1 (a new member) may do, so a new account cannot flood the
// forum with links or posts; level 2 lifts these limits.
const (
	NewMemberLinks   = 2              // links in one post
	NewMemberTopics  = 3              // topics in the first day
	NewMemberReplies = 10             // replies in the first day
	NewMemberDay     = 24 * time.Hour // the first day
)

// toNextLevel says how a new member lifts the limits.
const toNextLevel = "; members reach level 2 by reading topics and visiting on a second day (your profile shows what is missing)"

// NewMember reports whether u is held to the new-member limits: level 1, not staff.
func NewMember(u *models.User) bool { return u != nil && !u.IsStaff() && u.Level < 2 }

// PostMedia: new members may put at most NewMemberLinks links and no
// images or video embeds in a post. The refusal is a validation error on
// field, so the form keeps what was typed.
func PostMedia(u *models.User, field string, links, images, embeds int) error {
	if !NewMember(u) {
		return nil
	}
	var msg string
	switch {
	case images > 0 && embeds > 0:
		msg = "new members (level 1) cannot post images or video embeds yet"
	case images > 0:
		msg = "new members (level 1) cannot post images yet"
	case embeds > 0:
		msg = "new members (level 1) cannot post video embeds yet"
	case links > NewMemberLinks:
		msg = "new members (level 1) may put at most " + strconv.Itoa(NewMemberLinks) + " links in a post (this one has " + strconv.Itoa(links) + ")"
	default:
		return nil
	}
	return &models.ValidationError{Fields: map[string]string{field: msg + toNextLevel}}
}

// NewMemberPace: in their first day, new members start at most
// NewMemberTopics topics (topic true) and post at most NewMemberReplies
// replies; past that, a *models.RateLimitError until the day is over.
func NewMemberPace(u *models.User, topic bool, now time.Time) error {
	if !NewMember(u) || now.Sub(u.CreatedAt) >= NewMemberDay {
		return nil
	}
	n, limit, what := u.PostCount-u.TopicCount, NewMemberReplies, "replies"
	if topic {
		n, limit, what = u.TopicCount, NewMemberTopics, "topics"
	}
	if n < limit {
		return nil
	}
	wait := u.CreatedAt.Add(NewMemberDay).Sub(now)
	return &models.RateLimitError{RetryAfter: wait.Round(time.Second),
		Message: "new members (level 1) may post at most " + strconv.Itoa(limit) + " " + what + " in their first 24 hours; " +
			"you can post more in " + inWords(wait) + toNextLevel}
}

// inWords says a wait the way a person would: "3 hours", "12 minutes".
func inWords(d time.Duration) string {
	if h := int((d + time.Hour - 1) / time.Hour); h > 1 {
		return strconv.Itoa(h) + " hours"
	}
	m := max(1, int((d+time.Minute-1)/time.Minute))
	if m == 1 {
		return "1 minute"
	}
	return strconv.Itoa(m) + " minutes"
}
