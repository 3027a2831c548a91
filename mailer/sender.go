package mailer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"

	gomail "github.com/wneessen/go-mail"
)

// Envelope is one message ready to go out.
type Envelope struct {
	MessageID      string // stable per queued message, so a receiver can drop a repeat
	From, To       string
	Subject        string
	Text, HTML     string
	UnsubscribeURL string // "": a service mail, without List-Unsubscribe
}

// Sender delivers envelopes. Its error is a *Failure when the server
// refused the message for good (a 5xx): anything else is worth retrying.
type Sender interface {
	Send(ctx context.Context, e *Envelope) error
}

// Failure is a permanent refusal by the mail server. Bounce says the
// server refused the recipient (RCPT TO), the one refusal that is about the
// address; others (the sender, the content) are about this message or our
// setup and leave the address alone.
type Failure struct {
	Code   int
	Reason string
	Bounce bool
}

func (f *Failure) Error() string { return fmt.Sprintf("refused (%d): %s", f.Code, f.Reason) }

// Permanent returns the *Failure in err when the server refused for good.
func Permanent(err error) (*Failure, bool) {
	var f *Failure
	ok := errors.As(err, &f)
	return f, ok
}

// NewSender returns the SMTP sender for smtpURL (smtp:// or smtps://, with
// user:password when the server wants them), or one that writes each
// message to log when smtpURL is empty. smtp:// uses STARTTLS when the
// server offers it and requires it unless the server is on this machine.
func NewSender(smtpURL string, log *slog.Logger) (Sender, error) {
	if smtpURL == "" {
		return logSender{log: log}, nil
	}
	u, err := url.Parse(smtpURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("want smtp://[user:password@]host[:port] or smtps://…")
	}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("the port is not a number")
		}
	}
	opts := []gomail.Option{gomail.WithPort(port)}
	if u.Scheme == "smtps" {
		opts = append(opts, gomail.WithSSL())
	} else if ip := net.ParseIP(u.Hostname()); u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()) {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthPlain), gomail.WithUsername(u.User.Username()),
			gomail.WithPassword(pass))
	}
	host := u.Hostname()
	if _, err := gomail.NewClient(host, opts...); err != nil {
		return nil, err
	}
	return &smtpSender{host: host, opts: opts}, nil
}

// smtpSender sends each message over its own connection: the queue sends a
// few a second at most, and a fresh connection survives a server restart.
type smtpSender struct {
	host string
	opts []gomail.Option
}

func (s *smtpSender) Send(ctx context.Context, e *Envelope) error {
	m := gomail.NewMsg()
	if err := m.From(e.From); err != nil {
		return &Failure{Code: 0, Reason: "bad sender address: " + err.Error()}
	}
	if err := m.To(e.To); err != nil {
		return &Failure{Code: 0, Reason: "bad recipient address: " + err.Error()}
	}
	m.SetMessageIDWithValue(e.MessageID)
	m.SetDate()
	m.Subject(e.Subject)
	if e.UnsubscribeURL != "" {
		m.SetListUnsubscribe(e.UnsubscribeURL)
		m.SetListUnsubscribePost()
	}
	m.SetBodyString(gomail.TypeTextPlain, e.Text)
	if e.HTML != "" {
		m.AddAlternativeString(gomail.TypeTextHTML, e.HTML)
	}
	c, err := gomail.NewClient(s.host, s.opts...)
	if err != nil {
		return err
	}
	err = c.DialAndSendWithContext(ctx, m)
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 && se.ErrorCode() < 600 {
		return &Failure{Code: se.ErrorCode(), Reason: err.Error(), Bounce: se.Reason == gomail.ErrSMTPRcptTo}
	}
	return err
}

// logSender is the default without SMTP: the message goes to the log, so
// a fresh install works offline (and shows its links).
type logSender struct{ log *slog.Logger }

func (l logSender) Send(_ context.Context, e *Envelope) error {
	l.log.Info("mail (no AGORA_SMTP_URL: logged, not sent)", "to", e.To, "subject", e.Subject, "text", e.Text)
	return nil
}
