package models

import (
	"context"

	"github.com/uptrace/bun"
)

// Event kinds: what happened that may change a member's level or earn a badge.
const (
	EventTopic        = "topic"         // started a topic
	EventReply        = "reply"         // replied
	EventLike         = "like"          // liked a post (Users: the liker and the author)
	EventSolution     = "solution"      // a best answer was chosen or cleared
	EventFlagResolved = "flag_resolved" // moderators reviewed flags (Users: the flaggers and the author)
	EventPenalty      = "penalty"       // a post removed or a member suspended
	EventVisit        = "visit"         // a member's first request of a day
	EventRead         = "read"          // a member read further
	EventGuidelines   = "guidelines"    // a member read the guidelines for the first time
	EventViews        = "views"         // topics were viewed (Topics: those with many views)
	EventLevel        = "level"         // members' levels changed
)

// Event is one thing that happened, reported inside the transaction that wrote it.
type Event struct {
	Kind   string
	Users  []int64 // the members concerned
	PostID int64   // the post concerned, when one is
	Topics []int64 // the topics concerned, when some are
}

// Reactor reacts to events inside their transaction (levels, badges):
// what it writes commits or rolls back with the event.
type Reactor interface {
	React(ctx context.Context, tx bun.Tx, ev Event) error
}

// React passes ev to r; a nil r ignores it.
func React(ctx context.Context, r Reactor, tx bun.Tx, ev Event) error {
	if r == nil || len(ev.Users) == 0 {
		return nil
	}
	return r.React(ctx, tx, ev)
}
