package privacy

import (
	"context"
	"fmt"
)

// Retention is what the retention pass keeps and for how long.
type Retention struct {
	// Days is how long IP addresses and user agents (kept with sessions for
	// abuse handling), view records keyed by a hashed address, and the mail
	// already sent or given up (addresses and subjects) are kept.
	Days int
	// Expired purges what has run out whatever its age: sessions, sign-ins in
	// progress, SSO nonces (accounts.Service.PurgeExpired).
	Expired func(ctx context.Context) (int64, error)
}

// Purged counts what a retention pass removed or blanked, by kind.
type Purged map[string]int64

// Retain runs the retention pass: everything older than r.Days goes, and
// every expired session, token and sign-in. Links in mail (confirmation,
// reset, unsubscribe) are signed and expire by themselves: nothing of them
// is stored to purge.
func (s *Service) Retain(ctx context.Context, r Retention) (Purged, error) {
	now := s.now().UTC()
	cutoff := now.AddDate(0, 0, -r.Days)
	out := Purged{}
	for _, step := range []struct {
		name, query string
		args        []any
	}{
		{"session addresses", "UPDATE sessions SET ip = '', user_agent = '' WHERE created_at < ? AND (ip <> '' OR user_agent <> '')",
			[]any{cutoff}},
		{"view records", "DELETE FROM topic_views WHERE hour < ?", []any{cutoff.Unix() / 3600}},
		{"mail sent", "DELETE FROM mail_queue WHERE status <> 'pending' AND created_at < ?", []any{cutoff}},
		{"expired tokens", "DELETE FROM api_tokens WHERE expires_at IS NOT NULL AND expires_at <= ?", []any{now}},
	} {
		res, err := s.db.ExecContext(ctx, step.query, step.args...)
		if err != nil {
			return out, fmt.Errorf("retention, %s: %w", step.name, err)
		}
		out[step.name], _ = res.RowsAffected()
	}
	if r.Expired != nil {
		n, err := r.Expired(ctx)
		if err != nil {
			return out, err
		}
		out["expired sessions and sign-ins"] = n
	}
	return out, nil
}
