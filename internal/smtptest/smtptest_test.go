package smtptest_test

import (
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"agora/internal/smtptest"
)

const wait = 5 * time.Second

func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}

// smtpCode returns the reply code of an error from net/smtp, or 0.
func smtpCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

func TestPlainMessage(t *testing.T) {
	s := smtptest.Start(t)

	if u, err := url.Parse(s.URL()); err != nil || u.Scheme != "smtp" || u.Host != s.Addr() || u.User != nil {
		t.Fatalf("URL() = %q, %v", s.URL(), err)
	}
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || s.Host() != "127.0.0.1" || s.Port() == 0 {
		t.Fatalf("Addr %q Host %q Port %d", s.Addr(), s.Host(), s.Port())
	}

	body := crlf("From: Ana <ana@example.com>\n" +
		"To: bo@example.com\n" +
		"Subject: =?UTF-8?q?Ol=C3=A1?= there\n" +
		"\n" +
		"Hello Bo,\n" +
		"..a line starting with a dot\n")
	if err := smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"bo@example.com", "cy@example.com"}, body); err != nil {
		t.Fatalf("SendMail: %v", err)
	}

	msgs := s.WaitFor(t, 1, wait)
	if len(msgs) != 1 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m := msgs[0]
	if m.From != "ana@example.com" {
		t.Errorf("From = %q", m.From)
	}
	if strings.Join(m.To, ",") != "bo@example.com,cy@example.com" {
		t.Errorf("To = %q", m.To)
	}
	if m.AuthUser != "" {
		t.Errorf("AuthUser = %q", m.AuthUser)
	}
	if m.ParseErr != nil {
		t.Errorf("ParseErr = %v", m.ParseErr)
	}
	if got := m.Header.Get("To"); got != "bo@example.com" {
		t.Errorf("Header To = %q", got)
	}
	if m.Subject != "Olá there" {
		t.Errorf("Subject = %q", m.Subject)
	}
	if want := "Hello Bo,\n..a line starting with a dot\n"; m.Text != want {
		t.Errorf("Text = %q, want %q", m.Text, want)
	}
	if m.HTML != "" {
		t.Errorf("HTML = %q", m.HTML)
	}
	if !strings.Contains(string(m.Data), "\r\nHello Bo,\r\n") {
		t.Errorf("Data = %q", m.Data)
	}

	// Messages returns a copy.
	msgs[0].To[0] = "changed"
	if got := s.Messages()[0].To[0]; got != "bo@example.com" {
		t.Errorf("Messages shares memory with the caller: %q", got)
	}
}

func TestMultipartQuotedPrintable(t *testing.T) {
	s := smtptest.Start(t)

	body := crlf("From: ana@example.com\n" +
		"To: bo@example.com\n" +
		"Subject: Welcome\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: multipart/mixed; boundary=\"outer\"\n" +
		"\n" +
		"--outer\n" +
		"Content-Type: multipart/alternative; boundary=\"inner\"\n" +
		"\n" +
		"--inner\n" +
		"Content-Type: text/plain; charset=UTF-8\n" +
		"Content-Transfer-Encoding: quoted-printable\n" +
		"\n" +
		"Ol=C3=A1 Bo, this line is long enough that it has to be wrapped by a soft=\n" +
		" line break.\n" +
		"Confirm: https://example.com/confirm?token=3Dabc\n" +
		"--inner\n" +
		"Content-Type: text/html; charset=UTF-8\n" +
		"Content-Transfer-Encoding: quoted-printable\n" +
		"\n" +
		"<p>Ol=C3=A1 <a href=3D\"https://example.com/confirm?token=3Dabc\">confirm</a></p>\n" +
		"--inner--\n" +
		"\n" +
		"--outer\n" +
		"Content-Type: text/plain; name=\"notes.txt\"\n" +
		"Content-Disposition: attachment; filename=\"notes.txt\"\n" +
		"Content-Transfer-Encoding: base64\n" +
		"\n" +
		"bm90IHRoZSBib2R5\n" +
		"--outer--\n")
	if err := smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"bo@example.com"}, body); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.WaitFor(t, 1, wait)[0]
	if m.ParseErr != nil {
		t.Fatalf("ParseErr = %v", m.ParseErr)
	}
	wantText := "Olá Bo, this line is long enough that it has to be wrapped by a soft line break.\n" +
		"Confirm: https://example.com/confirm?token=abc"
	if m.Text != wantText {
		t.Errorf("Text = %q, want %q", m.Text, wantText)
	}
	wantHTML := `<p>Olá <a href="https://example.com/confirm?token=abc">confirm</a></p>`
	if m.HTML != wantHTML {
		t.Errorf("HTML = %q, want %q", m.HTML, wantHTML)
	}
}

func TestBase64SinglePartHTML(t *testing.T) {
	s := smtptest.Start(t)
	body := crlf("From: ana@example.com\n" +
		"To: bo@example.com\n" +
		"Subject: b64\n" +
		"MIME-Version: 1.0\n" +
		"Content-Type: text/html; charset=utf-8\n" +
		"Content-Transfer-Encoding: base64\n" +
		"\n" +
		"PHA+T2zDoSwgPGI+Qm88L2I+\n" +
		"PC9wPg==\n")
	if err := smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"bo@example.com"}, body); err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	m := s.WaitFor(t, 1, wait)[0]
	if m.HTML != "<p>Olá, <b>Bo</b></p>" || m.Text != "" || m.ParseErr != nil {
		t.Errorf("HTML = %q, Text = %q, ParseErr = %v", m.HTML, m.Text, m.ParseErr)
	}
}

func TestAuth(t *testing.T) {
	s := smtptest.Start(t, smtptest.WithAuth("mailer", "p@ss:word"))

	u, err := url.Parse(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	if pass, _ := u.User.Password(); u.User.Username() != "mailer" || pass != "p@ss:word" || u.Host != s.Addr() {
		t.Fatalf("URL() = %q", s.URL())
	}

	msg := crlf("Subject: hi\n\nhi\n")
	to := []string{"bo@example.com"}

	// No AUTH at all: MAIL is refused.
	err = smtp.SendMail(s.Addr(), nil, "ana@example.com", to, msg)
	if smtpCode(err) != 530 {
		t.Errorf("without auth: err = %v, want 530", err)
	}

	// Wrong password.
	err = smtp.SendMail(s.Addr(), smtp.PlainAuth("", "mailer", "wrong", "127.0.0.1"), "ana@example.com", to, msg)
	if smtpCode(err) != 535 {
		t.Errorf("wrong password: err = %v, want 535", err)
	}

	// Wrong user.
	err = smtp.SendMail(s.Addr(), smtp.PlainAuth("", "other", "p@ss:word", "127.0.0.1"), "ana@example.com", to, msg)
	if smtpCode(err) != 535 {
		t.Errorf("wrong user: err = %v, want 535", err)
	}

	if n := len(s.Messages()); n != 0 {
		t.Fatalf("%d messages accepted without valid auth", n)
	}

	// Right credentials (net/smtp checks that AUTH PLAIN is offered).
	err = smtp.SendMail(s.Addr(), smtp.PlainAuth("", "mailer", "p@ss:word", "127.0.0.1"), "ana@example.com", to, msg)
	if err != nil {
		t.Fatalf("right credentials: %v", err)
	}
	m := s.WaitFor(t, 1, wait)[0]
	if m.AuthUser != "mailer" || m.Text != "hi\n" {
		t.Errorf("AuthUser = %q, Text = %q", m.AuthUser, m.Text)
	}
}

func TestNoAuthConfiguredAcceptsAnyCredentials(t *testing.T) {
	s := smtptest.Start(t)
	err := smtp.SendMail(s.Addr(), smtp.PlainAuth("", "anyone", "anything", "127.0.0.1"), "ana@example.com", []string{"bo@example.com"}, crlf("Subject: x\n\nx\n"))
	if err != nil {
		t.Fatalf("SendMail: %v", err)
	}
	if m := s.WaitFor(t, 1, wait)[0]; m.AuthUser != "anyone" {
		t.Errorf("AuthUser = %q", m.AuthUser)
	}
}

func dial(t *testing.T, s *smtptest.Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	return c
}

func send(t *testing.T, c *smtp.Client, body string) error {
	t.Helper()
	w, err := c.Data()
	if err != nil {
		t.Fatalf("DATA: %v", err)
	}
	if _, err := w.Write(crlf(body)); err != nil {
		t.Fatal(err)
	}
	return w.Close()
}

func TestFailRcpt(t *testing.T) {
	s := smtptest.Start(t)
	s.FailRcpt("busy@example.com", 450, "")
	s.FailRcpt("Gone@Example.com", 550, "No such user here")

	c := dial(t, s)
	if err := c.Mail("ana@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("bo@example.com"); err != nil {
		t.Fatalf("RCPT bo: %v", err)
	}
	err := c.Rcpt("busy@example.com")
	if smtpCode(err) != 450 {
		t.Errorf("RCPT busy: err = %v, want 450", err)
	}
	err = c.Rcpt("gone@example.com") // case-insensitive match
	if smtpCode(err) != 550 || !strings.Contains(err.Error(), "No such user here") {
		t.Errorf("RCPT gone: err = %v, want 550 No such user here", err)
	}
	// The accepted recipient still gets the message.
	if err := send(t, c, "Subject: partial\n\nbody\n"); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	m := s.WaitFor(t, 1, wait)[0]
	if strings.Join(m.To, ",") != "bo@example.com" {
		t.Errorf("To = %q", m.To)
	}

	// Failures persist across transactions until cleared.
	if err := c.Mail("ana@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("busy@example.com"); smtpCode(err) != 450 {
		t.Errorf("RCPT busy again: err = %v, want 450", err)
	}
	if err := c.Reset(); err != nil {
		t.Fatal(err)
	}

	s.ClearFailures()
	if err := smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"busy@example.com", "gone@example.com"}, crlf("Subject: ok\n\nok\n")); err != nil {
		t.Fatalf("after ClearFailures: %v", err)
	}
	if m := s.WaitFor(t, 2, wait)[1]; len(m.To) != 2 {
		t.Errorf("To = %q", m.To)
	}
}

func TestFailNext(t *testing.T) {
	s := smtptest.Start(t)
	s.FailNext(2, 451)

	c := dial(t, s)
	for i := range 3 {
		if err := c.Mail("ana@example.com"); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt("bo@example.com"); err != nil {
			t.Fatal(err)
		}
		err := send(t, c, "Subject: try\n\ntry\n")
		if i < 2 {
			if smtpCode(err) != 451 {
				t.Errorf("try %d: err = %v, want 451", i, err)
			}
		} else if err != nil {
			t.Errorf("try %d: %v", i, err)
		}
	}
	if msgs := s.WaitFor(t, 1, wait); len(msgs) != 1 {
		t.Errorf("got %d messages, want 1", len(msgs))
	}

	s.FailNext(1, 554)
	err := smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"bo@example.com"}, crlf("Subject: x\n\nx\n"))
	if smtpCode(err) != 554 {
		t.Errorf("permanent: err = %v, want 554", err)
	}
	s.FailNext(5, 451)
	s.ClearFailures()
	if err := smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"bo@example.com"}, crlf("Subject: x\n\nx\n")); err != nil {
		t.Errorf("after ClearFailures: %v", err)
	}
	if n := len(s.WaitFor(t, 2, wait)); n != 2 {
		t.Errorf("got %d messages, want 2", n)
	}
}

func TestCloseAndRestart(t *testing.T) {
	s := smtptest.Start(t)
	addr := s.Addr()
	s.Close()
	s.Close() // idempotent

	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("dial succeeded after Close")
	}

	if err := s.Restart(); err != nil {
		t.Fatal(err)
	}
	if s.Addr() != addr {
		t.Fatalf("Addr changed: %q -> %q", addr, s.Addr())
	}
	if err := smtp.SendMail(addr, nil, "ana@example.com", []string{"bo@example.com"}, crlf("Subject: back\n\nback\n")); err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	if m := s.WaitFor(t, 1, wait)[0]; m.Subject != "back" {
		t.Errorf("Subject = %q", m.Subject)
	}
}

func TestWaitForConcurrent(t *testing.T) {
	s := smtptest.Start(t)
	const n = 5
	errs := make(chan error, n)
	for i := range n {
		go func() {
			time.Sleep(time.Duration(i) * 10 * time.Millisecond)
			errs <- smtp.SendMail(s.Addr(), nil, "ana@example.com", []string{"bo@example.com"}, crlf("Subject: c\n\nc\n"))
		}()
	}
	if got := len(s.WaitFor(t, n, wait)); got < n {
		t.Errorf("WaitFor returned %d messages", got)
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// fakeTB records Fatalf instead of stopping the test.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Fatalf(format string, args ...any) {
	f.failed = format
}

func TestWaitForTimeout(t *testing.T) {
	s := smtptest.Start(t)
	ft := &fakeTB{TB: t}
	start := time.Now()
	if msgs := s.WaitFor(ft, 1, 50*time.Millisecond); msgs != nil {
		t.Errorf("got %v", msgs)
	}
	if ft.failed == "" {
		t.Error("WaitFor did not fail on timeout")
	}
	if d := time.Since(start); d < 50*time.Millisecond || d > 2*time.Second {
		t.Errorf("WaitFor took %v", d)
	}
}
