package mailer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/forum"
	"agora/internal/smtptest"
	"agora/internal/testclock"
	"agora/internal/testdb"
	"agora/mailer"
	"agora/models"
	"agora/services"
)

const (
	baseURL = "http://forum.example.com"
	postal  = "Agora Inc., 1 Main Street, Springfield"
)

// world is the services over one database on an injected clock, sending
// through a real SMTP server inside the test.
type world struct {
	db   *bun.DB
	set  services.Set
	smtp *smtptest.Server
	clk  *testclock.Clock
	cat  *models.Category
	seq  int
}

func newWorld(t *testing.T, db *bun.DB, wrap ...func(mailer.Sender) mailer.Sender) *world {
	t.Helper()
	start := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	w := &world{db: db, clk: testclock.New(start), smtp: smtptest.Start(t, smtptest.WithAuth("agora", "s3cret"))}
	w.set = w.services(t, wrap...)
	w.cat = &models.Category{Name: "Questions", Slug: "questions", Color: "#336699", CreatedAt: start, UpdatedAt: start}
	if err := models.CreateCategory(context.Background(), db, w.cat); err != nil {
		t.Fatal(err)
	}
	return w
}

// services builds the services again over the same database: a restart.
func (w *world) services(t *testing.T, wrap ...func(mailer.Sender) mailer.Sender) services.Set {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	sender, err := mailer.NewSender(w.smtp.URL(), log)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range wrap {
		sender = f(sender)
	}
	set, err := services.New(context.Background(), w.db, w.clk.Now, nil, services.Options{Mail: mailer.Config{BaseURL: baseURL,
		From: "Community <community@example.com>", PostalAddress: postal, Sender: sender, Log: log}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// member registers name (a verification mail is queued), then marks the
// address verified when verified, and turns on the given kinds.
func (w *world) member(t *testing.T, name string, verified bool, kinds ...string) *models.User {
	t.Helper()
	ctx := context.Background()
	u, err := w.set.Accounts.Register(ctx, accounts.RegisterInput{Username: name, Email: name + "@example.com",
		Password: "a long password", AgeConfirmed: true})
	if err != nil {
		t.Fatalf("register %s: %v", name, err)
	}
	if verified {
		if _, err := models.VerifyEmail(ctx, w.db, u.ID, u.Email, w.clk.Now()); err != nil {
			t.Fatal(err)
		}
	}
	in := mailer.PreferencesInput{Digest: models.DigestNever}
	for _, k := range kinds {
		switch k {
		case models.MailReplies:
			in.Replies = true
		case models.MailMentions:
			in.Mentions = true
		case models.MailDigest:
			in.Digest = models.DigestDaily
		}
	}
	u = w.user(t, u.ID)
	if _, err := w.set.Mail.SavePreferences(ctx, u, in); err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *world) user(t *testing.T, id int64) *models.User {
	t.Helper()
	u, err := models.UserByID(context.Background(), w.db, id)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (w *world) topic(t *testing.T, u *models.User) *models.Topic {
	t.Helper()
	w.seq++
	tp, _, err := w.set.Forum.CreateTopic(context.Background(), w.user(t, u.ID), forum.TopicInput{CategoryID: w.cat.ID,
		Title: fmt.Sprintf("How do I rotate API keys, take %d?", w.seq), Body: "My keys are old."})
	if err != nil {
		t.Fatalf("%s starts a topic: %v", u.Username, err)
	}
	return tp
}

func (w *world) reply(t *testing.T, u *models.User, topicID int64, body string) *models.Post {
	t.Helper()
	p, err := w.set.Forum.Reply(context.Background(), w.user(t, u.ID), topicID, body, nil)
	if err != nil {
		t.Fatalf("%s replies: %v", u.Username, err)
	}
	return p
}

// drain runs mail passes until one sends nothing and returns how many went.
func (w *world) drain(t *testing.T, set services.Set) int {
	t.Helper()
	total := 0
	for range 20 {
		n, err := set.Mail.Pass(context.Background())
		if err != nil {
			t.Fatalf("mail pass: %v", err)
		}
		if n == 0 {
			return total
		}
		total += n
	}
	t.Fatal("the mail queue never emptied")
	return total
}

// received returns the messages to addr whose subject contains about.
func (w *world) received(addr, about string) []smtptest.Message { return w.smtp.To(addr, about) }

func (w *world) mailOf(t *testing.T, u *models.User, kind string) []*models.Mail {
	t.Helper()
	ms, err := models.MailOf(context.Background(), w.db, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*models.Mail
	for _, m := range ms {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func TestMailGoesOnlyWhereWanted(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		ana := w.member(t, "ana", true, models.MailReplies)
		cara := w.member(t, "cara", true)                    // opted in to nothing
		dan := w.member(t, "dan", false, models.MailReplies) // never confirmed the address
		eve := w.member(t, "eve", true, models.MailReplies)  // the address bounces
		bob := w.member(t, "bob", true, models.MailReplies)  // replies to everyone
		if err := models.MarkBouncing(context.Background(), db, eve.ID, "550 no such user", w.clk.Now()); err != nil {
			t.Fatal(err)
		}
		for _, u := range []*models.User{ana, cara, dan, eve} {
			w.reply(t, bob, w.topic(t, u).ID, "Rotate them under **Settings**, then Keys.")
		}
		w.drain(t, w.set)

		got := w.received("ana@example.com", "bob replied")
		if len(got) != 1 {
			t.Fatalf("ana got %d reply mails, want 1 (all: %d)", len(got), len(w.smtp.Messages()))
		}
		m := got[0]
		if m.AuthUser != "agora" || m.From != "community@example.com" {
			t.Errorf("sent as %q from %q, want the configured login and sender", m.AuthUser, m.From)
		}
		unsub := strings.Trim(m.Header.Get("List-Unsubscribe"), "<>")
		if !strings.HasPrefix(unsub, baseURL+"/email/unsubscribe/") {
			t.Errorf("List-Unsubscribe %q, want our unsubscribe link", m.Header.Get("List-Unsubscribe"))
		}
		if got := m.Header.Get("List-Unsubscribe-Post"); got != "List-Unsubscribe=One-Click" {
			t.Errorf("List-Unsubscribe-Post %q (RFC 8058)", got)
		}
		if m.Header.Get("Message-ID") == "" {
			t.Error("no Message-ID")
		}
		for part, body := range map[string]string{"text": m.Text, "html": m.HTML} {
			for _, want := range []string{"Rotate them under", postal, "/email/unsubscribe/", baseURL + "/t/"} {
				if !strings.Contains(body, want) {
					t.Errorf("%s part lacks %q:\n%s", part, want, body)
				}
			}
		}
		if !strings.Contains(m.HTML, "<strong>Settings</strong>") || strings.Contains(m.Text, "<strong>") {
			t.Errorf("the HTML part should carry the post's HTML and the text part plain text:\n%s\n%s", m.HTML, m.Text)
		}
		for _, u := range []*models.User{cara, dan, eve} {
			if got := w.received(u.Email, "replied"); len(got) != 0 {
				t.Errorf("%s got %d reply mails, want none", u.Username, len(got))
			}
		}
		// The unverified member got the one mail an unverified address may get.
		v := w.received("dan@example.com", "Confirm your email")
		if len(v) != 1 || v[0].Header.Get("List-Unsubscribe") != "" || !strings.Contains(v[0].Text, postal) {
			t.Fatalf("dan's verification mails %d (a service mail: no List-Unsubscribe, the postal address)", len(v))
		}
		// The bouncing address got nothing but the confirmation link (the way out of bouncing).
		if n, v := len(w.received("eve@example.com", "")), len(w.received("eve@example.com", "Confirm")); n != 1 || v != 1 {
			t.Errorf("eve got %d mails (%d confirmations), want only the confirmation link", n, v)
		}
		if n := len(w.received("ana@example.com", "Confirm")); n != 0 {
			t.Errorf("a confirmed address got %d confirmation links, want none", n)
		}
	})
}

func TestVerificationLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		dan := w.member(t, "dan", false, models.MailReplies)
		w.drain(t, w.set)
		v := w.received("dan@example.com", "Confirm your email")
		if len(v) != 1 {
			t.Fatalf("%d verification mails", len(v))
		}
		token := smtptest.After(t, v[0].Text, "/email/verify?token=")
		ctx := context.Background()
		if _, err := w.set.Mail.Verify(ctx, token+"x"); !errors.Is(err, mailer.ErrBadToken) {
			t.Errorf("a mangled token: %v, want ErrBadToken", err)
		}
		if _, err := w.set.Mail.Verify(ctx, strings.Replace(token, ".", ".A", 1)); !errors.Is(err, mailer.ErrBadToken) {
			t.Errorf("a forged signature: %v, want ErrBadToken", err)
		}
		u, err := w.set.Mail.Verify(ctx, token)
		if err != nil || u.ID != dan.ID || w.user(t, dan.ID).EmailVerifiedAt == nil {
			t.Fatalf("verify: %v; verified %v", err, w.user(t, dan.ID).EmailVerifiedAt)
		}
		// A link is for the address it was sent to, and for three days.
		if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("email = ?", "dan@new.example.com").
			Set("email_verified_at = NULL").Where("id = ?", dan.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := w.set.Mail.Verify(ctx, token); !errors.Is(err, mailer.ErrBadToken) {
			t.Errorf("the old address's link after a change: %v, want ErrBadToken", err)
		}
		if err := w.set.Mail.SendVerification(ctx, w.user(t, dan.ID)); err != nil {
			t.Fatal(err)
		}
		w.drain(t, w.set)
		fresh := smtptest.After(t, w.received("dan@new.example.com", "Confirm")[0].Text, "/email/verify?token=")
		w.clk.Add(73 * time.Hour)
		if _, err := w.set.Mail.Verify(ctx, fresh); !errors.Is(err, mailer.ErrBadToken) {
			t.Errorf("a link after 73 hours: %v, want ErrBadToken", err)
		}
	})
}

func TestTemporaryFailureIsRetried(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		ana := w.member(t, "ana", true, models.MailReplies)
		bob := w.member(t, "bob", true)
		w.drain(t, w.set) // the verifications
		w.smtp.FailRcpt("ana@example.com", 451, "try again later")
		w.reply(t, bob, w.topic(t, ana).ID, "Here is how.")
		if n := w.drain(t, w.set); n != 0 {
			t.Fatalf("sent %d while the server refuses for now", n)
		}
		ms := w.mailOf(t, ana, models.MailReplies)
		if len(ms) != 1 || ms[0].Status != models.MailPending || ms[0].Attempts != 1 ||
			!ms[0].NextAttemptAt.After(w.clk.Now()) || ms[0].LastError == "" {
			t.Fatalf("after a 451: %+v, want pending, one attempt, retried later", ms[0])
		}
		w.smtp.ClearFailures()
		if n := w.drain(t, w.set); n != 0 {
			t.Errorf("retried %d before the backoff ran out", n)
		}
		w.clk.Add(2 * time.Minute)
		if n := w.drain(t, w.set); n != 1 {
			t.Fatalf("after the backoff sent %d, want 1", n)
		}
		if got := len(w.received("ana@example.com", "replied")); got != 1 {
			t.Errorf("ana got %d copies, want 1", got)
		}
		if p, _ := models.EmailPreferencesOf(context.Background(), db, ana.ID); p.BouncingAt != nil {
			t.Error("a temporary failure marked the address bouncing")
		}
	})
}

func TestPermanentFailureStopsMailToTheAddress(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		ana := w.member(t, "ana", true, models.MailReplies)
		bob := w.member(t, "bob", true)
		w.drain(t, w.set)
		w.smtp.FailRcpt("ana@example.com", 550, "no such mailbox")
		topic := w.topic(t, ana)
		w.reply(t, bob, topic.ID, "First answer.")
		w.drain(t, w.set)
		ms := w.mailOf(t, ana, models.MailReplies)
		if len(ms) != 1 || ms[0].Status != models.MailFailed || ms[0].Attempts != 1 {
			t.Fatalf("after a 550: %+v, want failed after one attempt", ms[0])
		}
		p, err := models.EmailPreferencesOf(context.Background(), db, ana.ID)
		if err != nil || p.BouncingAt == nil || !strings.Contains(p.BounceReason, "550") {
			t.Fatalf("preferences after a 550: %+v, %v; want the address marked bouncing", p, err)
		}
		// A refusal of the message, not the address (here at DATA), fails
		// that message only.
		cara := w.member(t, "cara", true, models.MailReplies)
		w.smtp.FailNext(1, 554)
		w.reply(t, bob, w.topic(t, cara).ID, "An answer the server refuses.")
		w.drain(t, w.set)
		if ms := w.mailOf(t, cara, models.MailReplies); len(ms) != 1 || ms[0].Status != models.MailFailed {
			t.Fatalf("after a 554 at DATA: %+v, want failed", ms)
		}
		if p, _ := models.EmailPreferencesOf(context.Background(), db, cara.ID); p.BouncingAt != nil {
			t.Error("a refusal of the message marked the address bouncing")
		}
		// Nothing more goes to the bouncing address, though the member still wants replies.
		w.smtp.ClearFailures()
		w.reply(t, bob, topic.ID, "Second answer.")
		w.clk.Add(time.Hour)
		w.drain(t, w.set)
		if got := w.received("ana@example.com", "replied"); len(got) != 0 {
			t.Fatalf("%d mails to a bouncing address", len(got))
		}
		// Confirming the address again (the one mail it still gets) starts mail again.
		if err := w.set.Mail.SendVerification(context.Background(), w.user(t, ana.ID)); err != nil {
			t.Fatal(err)
		}
		w.drain(t, w.set)
		v := w.received("ana@example.com", "Confirm")
		if len(v) != 1 {
			t.Fatalf("%d confirmation mails, want the one asked for after the bounce", len(v))
		}
		if _, err := w.set.Mail.Verify(context.Background(), smtptest.After(t, v[0].Text, "/email/verify?token=")); err != nil {
			t.Fatal(err)
		}
		w.reply(t, bob, topic.ID, "Third answer.")
		w.drain(t, w.set)
		if got := w.received("ana@example.com", "replied"); len(got) != 1 {
			t.Errorf("after confirming again ana got %d reply mails, want 1", len(got))
		}
	})
}

// stopAfter is a sender that stops the pass (as a crash or restart would)
// once it has sent n messages.
type stopAfter struct {
	mailer.Sender
	n      int
	cancel context.CancelFunc
	sent   int
}

func (s *stopAfter) Send(ctx context.Context, e *mailer.Envelope) error {
	err := s.Sender.Send(ctx, e)
	if s.sent++; s.sent == s.n {
		s.cancel()
	}
	return err
}

func TestRestartMidBatchSendsEachOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		var stop *stopAfter
		ctx, cancel := context.WithCancel(context.Background())
		first := w.services(t, func(s mailer.Sender) mailer.Sender {
			stop = &stopAfter{Sender: s, n: 7, cancel: cancel}
			return stop
		})
		ana := w.member(t, "ana", true, models.MailReplies)
		bob := w.member(t, "bob", true)
		if _, err := db.NewRaw("UPDATE users SET level = 2, level_locked = TRUE WHERE id = ?", bob.ID).Exec(ctx); err != nil {
			t.Fatal(err) // past the new member's reply limit
		}
		w.drain(t, w.set)
		w.smtp.Reset()
		topic := w.topic(t, ana)
		const replies = 30 // more than a batch
		for i := range replies {
			w.reply(t, bob, topic.ID, fmt.Sprintf("Answer number %d.", i))
		}
		if _, err := first.Mail.Pass(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("the stopped pass: %v, want context.Canceled", err)
		}
		if got := len(w.smtp.Messages()); got != 7 {
			t.Fatalf("%d sent before the stop, want 7", got)
		}
		// A new worker at once sends what was never claimed; the rest of the
		// stopped batch waits for its lease.
		restarted := w.services(t)
		w.drain(t, restarted)
		if got, want := len(w.smtp.Messages()), 7+replies-mailer.Batch; got != want {
			t.Fatalf("%d sent right after the restart, want %d (the stopped batch's rest is claimed)", got, want)
		}
		w.clk.Add(6 * time.Minute) // past the lease
		w.drain(t, restarted)
		seen := map[string]int{}
		for _, m := range w.smtp.Messages() {
			seen[m.Header.Get("Message-ID")]++
			if seen[m.Header.Get("Message-ID")] > 1 {
				t.Errorf("message %s sent twice", m.Header.Get("Message-ID"))
			}
		}
		if len(seen) != replies {
			t.Errorf("%d distinct messages after the restart, want %d", len(seen), replies)
		}
		for _, m := range w.mailOf(t, ana, models.MailReplies) {
			if m.Status != models.MailSent {
				t.Errorf("mail %d is %s, want sent", m.ID, m.Status)
			}
		}
	})
}

func TestDigest(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		dora := w.member(t, "dora", true, models.MailDigest)
		w.member(t, "nils", true) // no digest
		bob := w.member(t, "bob", true)
		hot := w.topic(t, bob)
		w.reply(t, dora, hot.ID, "Same here.")
		w.drain(t, w.set)
		ctx := context.Background()
		if err := w.set.Mail.DigestPass(ctx); err != nil {
			t.Fatal(err)
		}
		w.drain(t, w.set)
		d := w.received("dora@example.com", "Popular today")
		if len(d) != 1 || !strings.Contains(d[0].Text, hot.Title) || !strings.Contains(d[0].Text, baseURL+"/t/") {
			t.Fatalf("dora's digests: %d, want one listing %q", len(d), hot.Title)
		}
		if len(w.received("nils@example.com", "Popular")) != 0 {
			t.Error("a member who chose no digest got one")
		}
		w.clk.Add(3 * time.Hour)
		if err := w.set.Mail.DigestPass(ctx); err != nil {
			t.Fatal(err)
		}
		w.drain(t, w.set)
		if got := len(w.received("dora@example.com", "Popular")); got != 1 {
			t.Errorf("%d digests the same day, want 1", got)
		}
		w.clk.Add(22 * time.Hour)
		w.reply(t, bob, hot.ID, "Still hot.")
		if err := w.set.Mail.DigestPass(ctx); err != nil {
			t.Fatal(err)
		}
		w.drain(t, w.set)
		if got := len(w.received("dora@example.com", "Popular")); got != 2 {
			t.Errorf("%d digests the next day, want 2", got)
		}
	})
}

func TestUnsubscribeLink(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newWorld(t, db)
		ana := w.member(t, "ana", true, models.MailReplies, models.MailMentions)
		bob := w.member(t, "bob", true)
		topic := w.topic(t, ana)
		w.reply(t, bob, topic.ID, "An answer.")
		w.drain(t, w.set)
		m := w.received("ana@example.com", "replied")
		if len(m) != 1 {
			t.Fatalf("%d reply mails", len(m))
		}
		token := strings.TrimPrefix(strings.Trim(m[0].Header.Get("List-Unsubscribe"), "<>"), baseURL+"/email/unsubscribe/")
		ctx := context.Background()
		if _, err := w.set.Mail.Unsubscribe(ctx, token[:len(token)-2]); !errors.Is(err, mailer.ErrBadToken) {
			t.Errorf("a cut token: %v", err)
		}
		un, err := w.set.Mail.Unsubscribe(ctx, token)
		if err != nil || !un.Was || un.Kind != models.MailReplies {
			t.Fatalf("unsubscribe: %+v, %v", un, err)
		}
		p, _ := models.EmailPreferencesOf(ctx, db, ana.ID)
		if p.NotifyReplies || !p.NotifyMentions {
			t.Errorf("after unsubscribing from replies: replies %v mentions %v; want only replies off", p.NotifyReplies, p.NotifyMentions)
		}
		if un, err := w.set.Mail.Unsubscribe(ctx, token); err != nil || un.Was {
			t.Errorf("a second click: %+v, %v; want it harmless", un, err)
		}
		w.reply(t, bob, topic.ID, "Another answer, @ana.")
		w.drain(t, w.set)
		if got := len(w.received("ana@example.com", "replied")); got != 1 {
			t.Errorf("%d reply mails after unsubscribing, want still 1", got)
		}
		if got := len(w.received("ana@example.com", "mentioned")); got != 0 {
			t.Errorf("a reply to ana that mentions her notifies once, as a reply: %d mention mails", got)
		}
	})
}
