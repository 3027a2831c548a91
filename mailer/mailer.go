// Package mailer is the mail Agora sends: what goes to whom (only to
// verified addresses that opted in to the kind, never to one that bounced),
// rendered once when queued in the durable mail_queue, and delivered from
// there by a background pass with retries. It knows nothing of HTTP.
package mailer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"agora/models"
)

// Config is what the mailer needs from the installation.
type Config struct {
	BaseURL       string // links in mail start with it
	From          string // AGORA_MAIL_FROM
	PostalAddress string // AGORA_MAIL_POSTAL_ADDRESS: in every message's footer
	Sender        Sender
	Log           *slog.Logger
	// Community returns the community's name for subjects and footers.
	Community func(ctx context.Context) (string, error)
}

// Delivery tuning: a pass sends at most Batch messages, the loop runs a
// pass every few seconds (Run), so one installation sends at most
// Batch per pass interval whatever the backlog.
const (
	Batch       = 20
	claimLease  = 5 * time.Minute // a batch stops at half of it (Deliver)
	sendTimeout = time.Minute     // one message, connection included
	maxAttempts = 8               // temporary failures before giving up
	verifyTTL   = 72 * time.Hour
	resetTTL    = time.Hour
	// serviceMailPerHour caps the confirmation and reset links one address
	// gets in an hour, so nobody can flood an inbox by asking for them.
	serviceMailPerHour = 3
)

// Service queues and delivers mail over one database.
type Service struct {
	db  *bun.DB
	cfg Config
	now func() time.Time
	key []byte
}

// New returns the mailer, reading (or making, the first time) the
// installation's link-signing key. now may be nil for time.Now.
func New(ctx context.Context, db *bun.DB, now func() time.Time, cfg Config) (*Service, error) {
	if now == nil {
		now = time.Now
	}
	fresh := make([]byte, 32)
	rand.Read(fresh)
	key, err := models.Secret(ctx, db, "mail_links", hex.EncodeToString(fresh))
	if err != nil {
		return nil, err
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Sender == nil {
		cfg.Sender = logSender{log: cfg.Log}
	}
	if cfg.From == "" {
		cfg.From = "agora@localhost"
	}
	return &Service{db: db, cfg: cfg, now: now, key: []byte(key)}, nil
}

// --- Service mail: verification and password reset ---------------------------

// SendVerification queues the link that verifies u's current address, on
// the member's request (again, or after a bounce: the one mail a bouncing
// address still gets). With a reset, it is the only mail that goes to an
// address before it is verified.
func (s *Service) SendVerification(ctx context.Context, u *models.User) error {
	return s.queueVerification(ctx, s.db, u)
}

// QueueVerification queues it for a new member, inside the transaction
// that creates them (accounts.Service.Joined), unless the address is
// verified already (the provider vouched for it).
func (s *Service) QueueVerification(ctx context.Context, db bun.IDB, u *models.User) error {
	if u.EmailVerifiedAt != nil {
		return nil
	}
	return s.queueVerification(ctx, db, u)
}

func (s *Service) queueVerification(ctx context.Context, db bun.IDB, u *models.User) error {
	if u.Email == "" {
		return nil
	}
	now := s.now()
	if flooded, err := s.flooded(ctx, db, u, models.MailVerify); err != nil || flooded {
		return err
	}
	token := s.sign(claims{Purpose: purposeVerify, UserID: u.ID, Expires: now.Add(verifyTTL).Unix(),
		About: fingerprint(strings.ToLower(u.Email))})
	link := s.cfg.BaseURL + "/email/verify?token=" + token
	m, err := s.compose(ctx, u, models.MailVerify, "Confirm your email address", []block{
		{Text: "Hello " + u.Username + ","},
		{Text: "Please confirm that " + u.Email + " is your address by opening this link within three days:"},
		{Link: link},
		{Text: "If you did not ask for this, ignore this message."},
	})
	if err != nil {
		return err
	}
	return models.QueueMail(ctx, db, []*models.Mail{m}, now)
}

// Verify checks a verification link and marks the address verified.
// Errors: ErrBadToken (forged, expired, or for an address the member no
// longer has).
func (s *Service) Verify(ctx context.Context, token string) (*models.User, error) {
	c, err := s.open(token, purposeVerify, s.now())
	if err != nil {
		return nil, err
	}
	u, err := models.UserByID(ctx, s.db, c.UserID)
	if err != nil || u.DeletedAt != nil || u.Email == "" || fingerprint(strings.ToLower(u.Email)) != c.About {
		return nil, ErrBadToken
	}
	ok, err := models.VerifyEmail(ctx, s.db, u.ID, u.Email, s.now())
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ErrBadToken
	}
	return u, nil
}

// resetAbout fingerprints what a reset link depends on: once the password
// (or the address) changes, the link is spent.
func resetAbout(u *models.User) string { return fingerprint(u.PasswordHash, strings.ToLower(u.Email)) }

// SendReset queues a password reset link for the member whose address is
// email, if there is one whose address is not bouncing; the caller answers
// the same either way.
func (s *Service) SendReset(ctx context.Context, email string) error {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > 254 {
		return nil
	}
	u, err := models.UserByLogin(ctx, s.db, email)
	if errors.Is(err, models.ErrNotFound) || (err == nil && !strings.EqualFold(u.Email, email)) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now()
	if flooded, err := s.flooded(ctx, s.db, u, models.MailReset); err != nil || flooded {
		return err
	}
	token := s.sign(claims{Purpose: purposeReset, UserID: u.ID, Expires: now.Add(resetTTL).Unix(), About: resetAbout(u)})
	link := s.cfg.BaseURL + "/password/reset?token=" + token
	m, err := s.compose(ctx, u, models.MailReset, "Reset your password", []block{
		{Text: "Hello " + u.Username + ","},
		{Text: "Someone asked to reset the password of your account. Open this link within an hour to choose a new one:"},
		{Link: link},
		{Text: "If it was not you, ignore this message: your password stays as it is."},
	})
	if err != nil {
		return err
	}
	return models.QueueMail(ctx, s.db, []*models.Mail{m}, now)
}

// flooded reports whether u has had serviceMailPerHour links of kind in
// the last hour: then the caller answers as usual and sends nothing.
func (s *Service) flooded(ctx context.Context, db bun.IDB, u *models.User, kind string) (bool, error) {
	n, err := models.RecentMail(ctx, db, u.ID, kind, s.now().Add(-time.Hour))
	if err == nil && n >= serviceMailPerHour {
		s.cfg.Log.Warn("service mail withheld: too many asked for in an hour", "user_id", u.ID, "kind", kind)
		return true, nil
	}
	return false, err
}

// ResetUser returns the member a reset link is for while it is valid.
// Errors: ErrBadToken.
func (s *Service) ResetUser(ctx context.Context, token string) (*models.User, error) {
	c, err := s.open(token, purposeReset, s.now())
	if err != nil {
		return nil, err
	}
	u, err := models.UserByID(ctx, s.db, c.UserID)
	if err != nil || u.DeletedAt != nil || resetAbout(u) != c.About {
		return nil, ErrBadToken
	}
	return u, nil
}

// --- Unsubscribing ------------------------------------------------------------

// unsubscribeURL is the link that turns kind off for u, without signing in.
func (s *Service) unsubscribeURL(u *models.User, kind string) string {
	return s.cfg.BaseURL + "/email/unsubscribe/" + s.sign(claims{Purpose: purposeUnsub, UserID: u.ID, About: kind})
}

// Unsubscription is what an unsubscribe link is about.
type Unsubscription struct {
	User *models.User
	Kind string
	// Was reports whether the kind was on before (Unsubscribe).
	Was bool
}

// UnsubscribeTarget reads an unsubscribe link. Errors: ErrBadToken.
func (s *Service) UnsubscribeTarget(ctx context.Context, token string) (*Unsubscription, error) {
	c, err := s.open(token, purposeUnsub, s.now())
	if err != nil || models.ServiceMail(c.About) || Label(c.About) == "" {
		return nil, ErrBadToken
	}
	u, err := models.UserByID(ctx, s.db, c.UserID)
	if err != nil || u.DeletedAt != nil {
		return nil, ErrBadToken
	}
	return &Unsubscription{User: u, Kind: c.About}, nil
}

// Unsubscribe turns off the kind of mail token names. Errors: ErrBadToken.
func (s *Service) Unsubscribe(ctx context.Context, token string) (*Unsubscription, error) {
	un, err := s.UnsubscribeTarget(ctx, token)
	if err != nil {
		return nil, err
	}
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		p, err := models.EmailPreferencesOf(ctx, tx, un.User.ID)
		if err != nil {
			return err
		}
		if un.Was = p.Unsubscribe(un.Kind); !un.Was {
			return nil
		}
		return models.SaveEmailPreferences(ctx, tx, p, s.now())
	})
	if err != nil {
		return nil, err
	}
	s.cfg.Log.Info("unsubscribed", "user_id", un.User.ID, "kind", un.Kind)
	return un, nil
}

// Label names a kind of mail for members ("" for an unknown kind).
func Label(kind string) string {
	switch kind {
	case models.MailReplies:
		return "replies to your topics and posts, and new posts where you watch"
	case models.MailMentions:
		return "mentions of your username"
	case models.MailSolution:
		return "your reply chosen as the best answer"
	case models.MailModeration:
		return "moderation notices about your account and posts"
	case models.MailStaff:
		return "staff alerts: posts hidden by flags, severe flags"
	case models.MailDigest:
		return "the digest of popular topics"
	case models.MailVerify:
		return "address verification"
	case models.MailReset:
		return "password reset"
	}
	return ""
}

// --- Delivery -----------------------------------------------------------------

// Pass queues mail for the notifications written since the last pass, then
// sends up to Batch due messages. It returns how many it sent.
func (s *Service) Pass(ctx context.Context) (int, error) {
	if err := s.queueNotifications(ctx); err != nil {
		return 0, err
	}
	return s.Deliver(ctx)
}

// Run runs a pass every interval until ctx ends.
func (s *Service) Run(ctx context.Context, every time.Duration, onErr func(error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.Pass(ctx); err != nil && ctx.Err() == nil {
			onErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Deliver claims up to Batch due messages and sends them one by one, each
// recorded as soon as its attempt ends: a sender stopped mid-batch leaves
// the rest claimed until the lease runs out, then they go out once; one
// that runs slow gives the rest back at half the lease. The
// one window left is between the server's acceptance and the record: the
// Message-ID stays the same on a repeat, so receivers can drop it.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	ms, err := models.ClaimMail(ctx, s.db, s.now(), claimLease, Batch)
	if err != nil || len(ms) == 0 {
		return 0, err
	}
	var ids []int64
	for _, m := range ms {
		if m.UserID != nil {
			ids = append(ids, *m.UserID)
		}
	}
	users, err := models.UsersByIDs(ctx, s.db, ids)
	if err != nil {
		return 0, err
	}
	prefs, err := models.EmailPreferencesByIDs(ctx, s.db, ids)
	if err != nil {
		return 0, err
	}
	sent, started := 0, time.Now()
	for i, m := range ms {
		if ctx.Err() != nil {
			return sent, ctx.Err()
		}
		if time.Since(started) > claimLease/2 {
			// A slow server: give the rest back before the claim runs out
			// under us and another sender takes them too.
			return sent, models.ReleaseMail(context.WithoutCancel(ctx), s.db, ms[i:])
		}
		var u *models.User
		var p *models.EmailPreferences
		if m.UserID != nil {
			u, p = users[*m.UserID], prefs[*m.UserID]
		}
		if why := unwanted(m, u, p); why != "" {
			m.Status, m.LastError = models.MailSkipped, why
		} else if err := s.attempt(ctx, m); err != nil {
			return sent, err
		}
		if m.Status == models.MailSent {
			sent++
		}
		if err := models.FinishMail(context.WithoutCancel(ctx), s.db, m); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

// unwanted says why m must not go out now ("" when it may): what was true
// when it was queued may have changed since.
func unwanted(m *models.Mail, u *models.User, p *models.EmailPreferences) string {
	switch {
	case u == nil || p == nil:
		return "the member is gone"
	case !strings.EqualFold(u.Email, m.To):
		return "the member's address changed"
	case p.BouncingAt != nil && m.Kind != models.MailVerify:
		return "the address bounces"
	case m.Kind == models.MailVerify && u.EmailVerifiedAt != nil && p.BouncingAt == nil:
		return "the address is confirmed already"
	case u.EmailVerifiedAt == nil && !models.ServiceMail(m.Kind):
		return "the address is not verified"
	case !p.Wants(m.Kind):
		return "the member turned this kind of mail off"
	}
	return ""
}

// attempt sends m once and sets what the attempt means for it: sent,
// retried later, or failed for good (and the address marked bouncing).
func (s *Service) attempt(ctx context.Context, m *models.Mail) error {
	now := s.now()
	m.Attempts++
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	err := s.cfg.Sender.Send(ctx, &Envelope{MessageID: messageID(m, s.cfg.BaseURL), From: s.cfg.From, To: m.To,
		Subject: m.Subject, Text: m.Text, HTML: m.HTML, UnsubscribeURL: m.UnsubscribeURL})
	switch f, permanent := Permanent(err); {
	case err == nil:
		m.Status, m.SentAt, m.LastError = models.MailSent, &now, ""
	case permanent && f.Bounce:
		m.Status, m.LastError = models.MailFailed, trim(f.Error())
		s.cfg.Log.Warn("mail refused for good: the address is marked bouncing", "mail_id", m.ID, "code", f.Code)
		if m.UserID != nil {
			return models.MarkBouncing(context.WithoutCancel(ctx), s.db, *m.UserID, trim(f.Error()), now)
		}
	case permanent:
		m.Status, m.LastError = models.MailFailed, trim(f.Error())
		s.cfg.Log.Error("mail refused for good, not for its address: check AGORA_MAIL_FROM and the SMTP account",
			"mail_id", m.ID, "code", f.Code)
	case m.Attempts >= maxAttempts:
		m.Status, m.LastError = models.MailFailed, trim(err.Error())
		s.cfg.Log.Warn("mail given up after temporary failures", "mail_id", m.ID, "attempts", m.Attempts)
	default:
		m.LastError, m.NextAttemptAt = trim(err.Error()), now.Add(backoff(m.Attempts))
		s.cfg.Log.Info("mail will be retried", "mail_id", m.ID, "attempts", m.Attempts, "next", m.NextAttemptAt)
	}
	return nil
}

// backoff is the wait after the n-th temporary failure: 1, 2, 4 … minutes, at most six hours.
func backoff(n int) time.Duration {
	return min(time.Minute<<min(n-1, 10), 6*time.Hour)
}

func trim(s string) string {
	if len(s) > 500 {
		return s[:500]
	}
	return s
}

// messageID is m's Message-ID: the same on every attempt.
func messageID(m *models.Mail, baseURL string) string {
	host := strings.TrimPrefix(strings.TrimPrefix(baseURL, "https://"), "http://")
	if i := strings.IndexAny(host, ":/"); i >= 0 {
		host = host[:i]
	}
	return "mail-" + strconv.FormatInt(m.ID, 10) + "." + strconv.FormatInt(m.CreatedAt.Unix(), 10) + "@" + host
}

// compose renders a message of kind to u: every non-service kind gets the
// unsubscribe link; every one the footer with the postal address.
func (s *Service) compose(ctx context.Context, u *models.User, kind, subject string, body []block) (*models.Mail, error) {
	community, err := s.cfg.Community(ctx)
	if err != nil {
		return nil, fmt.Errorf("community name: %w", err)
	}
	m := &models.Mail{UserID: &u.ID, Kind: kind, To: u.Email, Subject: "[" + community + "] " + subject}
	f := footer{Base: s.cfg.BaseURL, Community: community, Postal: s.cfg.PostalAddress, Settings: s.cfg.BaseURL + "/settings",
		Why: Label(kind)}
	if !models.ServiceMail(kind) {
		m.UnsubscribeURL = s.unsubscribeURL(u, kind)
		f.Unsubscribe = m.UnsubscribeURL
	}
	m.Text, m.HTML, err = render(subject, body, f)
	return m, err
}
