package app_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/smtptest"
	"agora/internal/testdb"
	"agora/models"
	"agora/services"
)

// mailApp is the app sending through a real SMTP server inside the test.
type mailApp struct {
	a    *fiber.App
	set  services.Set
	smtp *smtptest.Server
	base string // AGORA_BASE_URL: links in mail start with it
}

func newMailApp(t *testing.T, db *bun.DB) *mailApp {
	t.Helper()
	m := &mailApp{smtp: smtptest.Start(t)}
	m.a, m.set = newAppSet(t, db, func(d *app.Deps) {
		d.Config.SMTPURL, d.Config.MailFrom = m.smtp.URL(), "Community <community@example.com>"
		d.Config.MailPostalAddress = "Agora Inc., 1 Main Street, Springfield"
		m.base = d.Config.BaseURL
	})
	return m
}

// deliver runs the mail pass as the server's loop would.
func (m *mailApp) deliver(t *testing.T) {
	t.Helper()
	for {
		n, err := m.set.Mail.Pass(context.Background())
		if err != nil {
			t.Fatalf("mail pass: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// to returns the mails to addr whose subject holds about.
func (m *mailApp) to(addr, about string) []smtptest.Message { return m.smtp.To(addr, about) }

// link returns the path of the first link under m.base that starts with prefix.
func (m *mailApp) link(t *testing.T, text, prefix string) string {
	t.Helper()
	return prefix + smtptest.After(t, text, m.base+prefix)
}

// TestMailThroughTheApp: a new member gets the confirmation link, opens it
// signed out, chooses mail in /settings, gets a reply by mail and stops it
// with the mail's one-click unsubscribe (no session, no CSRF token, posted
// cross-site as mail providers do).
func TestMailThroughTheApp(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		m := newMailApp(t, db)
		nora, token := mustJoin(t, m.a, db, "nora")
		m.deliver(t)
		v := m.to("nora@example.com", "Confirm your email")
		if len(v) != 1 {
			t.Fatalf("%d confirmation mails after registering, want 1", len(v))
		}
		res, page := getPage(t, m.a, m.link(t, v[0].Text, "/email/verify?token="))
		tpWantStatus(t, res, page, http.StatusOK)
		tpWantContains(t, page, "nora@example.com is confirmed")
		res, page = getPage(t, m.a, "/email/verify?token="+strings.Repeat("A", 40)+".x")
		tpWantStatus(t, res, page, http.StatusBadRequest)
		tpWantContains(t, page, "not valid any more")

		// The choices, by the API and the page; everything starts off.
		_, body := call(t, m.a, jsonReq(http.MethodGet, "/api/v1/me/email", nil, token))
		e := decode(t, body)["email"].(map[string]any)
		if e["verified"] != true || e["replies"] != false || e["mentions"] != false || e["digest"] != "never" {
			t.Fatalf("email settings after confirming: %s", body)
		}
		res, body = call(t, m.a, jsonReq(http.MethodPut, "/api/v1/me/email", map[string]any{"digest": "hourly"}, token))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "digest") {
			t.Errorf("a bad digest: %d %s, want 422 naming it", res.StatusCode, body)
		}
		res, page = nora.post(t, m.a, "/settings/email", map[string]string{"replies": "1", "mentions": "1", "staff_alerts": "1", "digest": "weekly"})
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving the choices: %d", res.StatusCode)
		}
		_, page = nora.get(t, m.a, "/settings")
		tpWantContains(t, page, `name="replies" value="1" checked`, `name="mentions" value="1" checked`,
			`<option value="weekly" selected>`, `data-email-state="verified"`)
		if strings.Contains(page, `name="staff_alerts"`) {
			t.Error("a member is offered staff alerts")
		}
		p, _ := models.EmailPreferencesOf(context.Background(), db, nora.ID)
		if p.NotifyStaff || !p.NotifyReplies || p.Digest != "weekly" {
			t.Errorf("stored choices %+v", p)
		}

		// A reply comes by mail…
		helper := mustTPUser(t, db, "helper", "")
		establish(t, db, "nora", "helper")
		cat := mustTPCategory(t, db, "Help", "help")
		topic := mustTPTopic(t, db, nora, cat, "Where do I find invoices?", "I need last month's.")
		mustModReply(t, db, helper, topic.ID, "Under Billing, then Invoices.")
		m.deliver(t)
		r := m.to("nora@example.com", "helper replied")
		if len(r) != 1 || !strings.Contains(r[0].Text, "Under Billing") || !strings.Contains(r[0].Text, "1 Main Street") {
			t.Fatalf("%d reply mails to nora", len(r))
		}
		unsub := strings.TrimPrefix(strings.Trim(r[0].Header.Get("List-Unsubscribe"), "<>"), m.base)
		if !strings.HasPrefix(unsub, "/email/unsubscribe/") || !strings.Contains(r[0].HTML, m.base+unsub) ||
			!strings.Contains(r[0].Text, m.base+unsub) {
			t.Fatalf("the unsubscribe link %q is not in the header and both parts", unsub)
		}
		// …and the link stops it: the page (signed out) has one button,
		res, page = getPage(t, m.a, unsub)
		tpWantStatus(t, res, page, http.StatusOK)
		tpWantContains(t, page, "replies to your topics and posts", `id="unsubscribe"`)
		// and the mail provider's one-click POST works without a session or token.
		req := rawReq(http.MethodPost, unsub, "application/x-www-form-urlencoded", "List-Unsubscribe=One-Click")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		res, page = call(t, m.a, req)
		tpWantStatus(t, res, page, http.StatusOK)
		tpWantContains(t, page, "gets no more mail about replies")
		if p, _ := models.EmailPreferencesOf(context.Background(), db, nora.ID); p.NotifyReplies || !p.NotifyMentions {
			t.Errorf("after unsubscribing: replies %v, mentions %v; want only replies off", p.NotifyReplies, p.NotifyMentions)
		}
		mustModReply(t, db, helper, topic.ID, "Or ask support.")
		m.deliver(t)
		if got := len(m.to("nora@example.com", "helper replied")); got != 1 {
			t.Errorf("%d reply mails after unsubscribing, want still 1", got)
		}
		res, _ = call(t, m.a, rawReq(http.MethodPost, unsub[:len(unsub)-3], "application/x-www-form-urlencoded", ""))
		if res.StatusCode != http.StatusBadRequest {
			t.Errorf("a mangled unsubscribe link: %d, want 400", res.StatusCode)
		}
	})
}

// mustJoin registers name through the API (so the app's services queue the
// confirmation mail) and signs in with a browser session too.
func mustJoin(t *testing.T, a *fiber.App, db *bun.DB, name string) (*tpUser, string) {
	t.Helper()
	res, body := call(t, a, jsonReq(http.MethodPost, "/api/v1/auth/register", map[string]any{
		"username": name, "email": name + "@example.com", "password": memberPassword, "age_confirmed": true}, ""))
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("register %s: %d %s", name, res.StatusCode, body)
	}
	cookie, token := mustAPILogin(t, a, name)
	u, err := models.UserByUsername(context.Background(), db, name)
	if err != nil {
		t.Fatal(err)
	}
	return &tpUser{User: u, cookie: cookie, csrf: sessionCSRFToken(t, db, cookie)}, token
}

// TestPasswordReset: the same answer for any address; the link (by mail)
// sets a new password once, signs every old session out and signs in.
func TestPasswordReset(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		m := newMailApp(t, db)
		rosa, apiToken := mustJoin(t, m.a, db, "rosa")
		old := rosa.cookie
		m.deliver(t)
		m.smtp.Reset()

		answer := func(email string) (int, string) {
			ck, csrf := anonCSRF(t, m.a, "/password/forgot")
			res, page := call(t, m.a, formReq("/password/forgot", map[string]string{"_csrf": csrf, "email": email}, ck))
			i := strings.Index(page, `<div class="auth-card`)
			return res.StatusCode, strings.ReplaceAll(page[i:], email, "EMAIL")
		}
		st1, known := answer("rosa@example.com")
		st2, unknown := answer("nobody@example.com")
		if st1 != http.StatusOK || st1 != st2 || known != unknown {
			t.Errorf("forgot for a member's address %d and an unknown one %d answer differently", st1, st2)
		}
		m.deliver(t)
		if n := len(m.smtp.Messages()); n != 1 {
			t.Fatalf("%d mails, want only the member's reset link", n)
		}
		mail := m.to("rosa@example.com", "Reset your password")
		if len(mail) != 1 || mail[0].Header.Get("List-Unsubscribe") != "" {
			t.Fatal("the reset mail is a service mail: no unsubscribe header")
		}
		link := m.link(t, mail[0].Text, "/password/reset?token=")
		token := strings.TrimPrefix(link, "/password/reset?token=")
		res, page := getPage(t, m.a, link)
		tpWantStatus(t, res, page, http.StatusOK)

		ck, csrf := anonCSRF(t, m.a, link)
		submit := func(pw, again string) (*http.Response, string) {
			return call(t, m.a, formReq("/password/reset", map[string]string{"_csrf": csrf, "token": token,
				"password": pw, "password_again": again}, ck))
		}
		res, page = submit("a brand new password", "a brand new passw0rd")
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "the two passwords differ", `name="token" value="`+token+`"`)
		res, page = submit("short", "short")
		tpWantStatus(t, res, page, http.StatusUnprocessableEntity)
		tpWantContains(t, page, "at least 10 characters")
		res, page = submit("a brand new password", "a brand new password")
		tpWantStatus(t, res, page, http.StatusSeeOther)
		if cookieNamed(res, "agora_session") == nil {
			t.Error("the reset did not sign in")
		}
		if res, _ := getPage(t, m.a, "/settings", old); res.StatusCode != http.StatusSeeOther {
			t.Errorf("a session from before the reset: /settings %d, want a redirect to sign in", res.StatusCode)
		}
		if res, _ := call(t, m.a, jsonReq(http.MethodGet, "/api/v1/me", nil, apiToken)); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("an API token from before the reset: %d, want 401", res.StatusCode)
		}
		res, page = submit("another new password", "another new password")
		tpWantStatus(t, res, page, http.StatusBadRequest) // spent: the password changed
		res, body := call(t, m.a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]any{"login": "rosa", "password": "a brand new password"}, ""))
		if res.StatusCode != http.StatusOK {
			t.Errorf("sign in with the new password: %d %s", res.StatusCode, body)
		}
		res, _ = call(t, m.a, jsonReq(http.MethodPost, "/api/v1/auth/login", map[string]any{"login": "rosa", "password": memberPassword}, ""))
		if res.StatusCode != http.StatusUnauthorized {
			t.Errorf("sign in with the old password: %d, want 401", res.StatusCode)
		}
	})
}
