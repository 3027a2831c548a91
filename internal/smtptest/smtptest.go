// Package smtptest runs a real SMTP server inside a test process, so code
// that sends mail (through github.com/wneessen/go-mail or any other SMTP
// client) can be tested end to end without the network.
//
// The server listens on 127.0.0.1 on a free port, speaks plain SMTP (no TLS)
// and offers AUTH PLAIN over that plain connection. With WithAuth it accepts
// only the configured username and password (others get 535) and refuses
// MAIL before authentication (530); without it any client is accepted, with
// or without AUTH. Every accepted message is recorded, with its headers and
// its text/plain and text/html bodies decoded.
//
// Failures can be injected to test retry and bounce handling: FailRcpt
// rejects one recipient with a chosen code, FailNext rejects the next DATA
// commands, and Close stops listening so that clients get "connection
// refused" until Restart.
package smtptest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From     string   // MAIL FROM address (envelope sender)
	To       []string // accepted RCPT TO addresses, in order (envelope recipients)
	AuthUser string   // username the client authenticated as, "" if it did not
	Data     []byte   // the message as received (headers and body, CRLF line ends)

	// Header is the message's header as parsed by net/mail; nil if Data
	// could not be parsed (see ParseErr).
	Header mail.Header
	// Subject is the Subject header with RFC 2047 encoded words decoded.
	Subject string
	// Text and HTML are the first text/plain and text/html parts that are
	// not attachments, found in a single-part body or in multipart bodies
	// (multipart/alternative, possibly nested in multipart/mixed or
	// multipart/related), with quoted-printable or base64 transfer encoding
	// decoded and CRLF line ends turned into "\n".
	Text, HTML string
	// ParseErr is why Data could not be parsed as a MIME message, if it
	// could not. The message is accepted and recorded all the same.
	ParseErr error
}

// Option configures a Server.
type Option func(*config)

type config struct {
	user, pass string
	auth       bool
}

// WithAuth makes the server require AUTH PLAIN with exactly this username
// and password before MAIL FROM. Wrong credentials are answered with 535
// 5.7.8, MAIL without authentication with 530 5.7.0.
func WithAuth(user, pass string) Option {
	return func(c *config) {
		c.user, c.pass, c.auth = user, pass, true
	}
}

// Server is a running SMTP server. All its methods are safe for concurrent
// use.
type Server struct {
	cfg  config
	addr string // 127.0.0.1:port, kept across Close and Restart

	mu        sync.Mutex
	tb        testing.TB
	tbDone    bool          // tb's test has finished: never log to it again
	srv       *smtp.Server  // nil while closed
	ln        net.Listener  // srv's listener
	served    chan struct{} // closed when srv's Serve returns
	msgs      []Message
	arrived   chan struct{} // closed and replaced on each new message
	rcptFail  map[string]*smtp.SMTPError
	dataFails int
	dataCode  int
}

// Start starts a server on 127.0.0.1 on a free port. It is closed when the
// test ends (tb.Cleanup).
func Start(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := &Server{
		tb:       tb,
		arrived:  make(chan struct{}),
		rcptFail: make(map[string]*smtp.SMTPError),
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	s.mu.Lock()
	s.serveLocked(l)
	s.mu.Unlock()
	tb.Cleanup(func() {
		s.Close()
		s.mu.Lock()
		s.tbDone = true
		s.mu.Unlock()
	})
	return s
}

// serveLocked starts a go-smtp server on l. s.mu must be held.
func (s *Server) serveLocked(l net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.ErrorLog = logger{s}
	served := make(chan struct{})
	s.srv, s.ln, s.served = srv, l, served
	go func() {
		defer close(served)
		if err := srv.Serve(l); err != nil {
			s.logf("smtptest: serve: %v", err)
		}
	}()
}

// Addr is the address the server listens on, "127.0.0.1:PORT". It stays the
// same across Close and Restart.
func (s *Server) Addr() string { return s.addr }

// URL is "smtp://127.0.0.1:PORT", with "user:pass@" (escaped) when the
// server was started WithAuth.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.cfg.auth {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	return u.String()
}

// Host is the host half of Addr, "127.0.0.1", for clients configured with a
// host and a port.
func (s *Server) Host() string {
	h, _, _ := net.SplitHostPort(s.addr)
	return h
}

// Port is the port the server listens on.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Close stops listening and drops open connections, so clients get
// "connection refused" until Restart. Messages and injected failures are
// kept. Closing a closed server does nothing.
func (s *Server) Close() {
	s.mu.Lock()
	srv, ln, served := s.srv, s.ln, s.served
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv == nil {
		return
	}
	srv.Close() // closes the connections, and the listener if Serve has it yet
	ln.Close()  // in case Serve has not started: it then returns at once
	<-served
}

// Restart listens again on the same address after Close. It does nothing if
// the server is running. It fails only if the port was taken meanwhile.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return nil
	}
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("smtptest: restart: %w", err)
	}
	s.serveLocked(l)
	return nil
}

// Messages returns a copy of the messages accepted so far, in arrival order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.copyLocked()
}

func (s *Server) copyLocked() []Message {
	out := make([]Message, len(s.msgs))
	for i, m := range s.msgs {
		m.To = append([]string(nil), m.To...)
		m.Data = append([]byte(nil), m.Data...)
		if m.Header != nil {
			h := make(mail.Header, len(m.Header))
			for k, v := range m.Header {
				h[k] = append([]string(nil), v...)
			}
			m.Header = h
		}
		out[i] = m
	}
	return out
}

// Reset forgets the messages accepted so far.
func (s *Server) Reset() {
	s.mu.Lock()
	s.msgs = nil
	s.mu.Unlock()
}

// WaitFor waits until at least n messages have been accepted and returns
// them all (a copy, in arrival order). It fails tb with tb.Fatalf if that
// has not happened within timeout, so call it from the test's goroutine.
func (s *Server) WaitFor(tb testing.TB, n int, timeout time.Duration) []Message {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.msgs) >= n {
			out := s.copyLocked()
			s.mu.Unlock()
			return out
		}
		got, arrived := len(s.msgs), s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			tb.Fatalf("smtptest: waited %v for %d message(s), got %d", timeout, n, got)
			return nil
		}
	}
}

// FailRcpt makes the server answer every RCPT TO:<addr> (compared without
// regard to case) with code and msg until ClearFailures: a 4xx code is a
// temporary failure (e.g. 450 mailbox busy), a 5xx code a permanent one
// (e.g. 550 no such user). An empty msg gets a default text. Other
// recipients of the same message are accepted as usual. It panics if code
// is not 4xx or 5xx.
func (s *Server) FailRcpt(addr string, code int, msg string) {
	checkCode(code)
	if msg == "" {
		msg = defaultText(code, "Requested action not taken: mailbox unavailable")
	}
	s.mu.Lock()
	s.rcptFail[strings.ToLower(addr)] = &smtp.SMTPError{
		Code:         code,
		EnhancedCode: rcptEnhanced(code),
		Message:      msg,
	}
	s.mu.Unlock()
}

// FailNext makes the server answer the next n DATA commands, whatever their
// recipients, with code (after reading the message, which is not recorded);
// then it accepts messages again. It panics if code is not 4xx or 5xx.
func (s *Server) FailNext(n int, code int) {
	checkCode(code)
	s.mu.Lock()
	s.dataFails, s.dataCode = n, code
	s.mu.Unlock()
}

// ClearFailures removes the failures set by FailRcpt and FailNext.
func (s *Server) ClearFailures() {
	s.mu.Lock()
	clear(s.rcptFail)
	s.dataFails, s.dataCode = 0, 0
	s.mu.Unlock()
}

func checkCode(code int) {
	if code < 400 || code > 599 {
		panic(fmt.Sprintf("smtptest: failure code %d is not 4xx or 5xx", code))
	}
}

func defaultText(code int, permanent string) string {
	if code < 500 {
		return "Requested action not taken: try again later"
	}
	return permanent
}

func rcptEnhanced(code int) smtp.EnhancedCode {
	switch code {
	case 550, 551, 553:
		return smtp.EnhancedCode{5, 1, 1} // bad destination mailbox address
	case 450, 452:
		return smtp.EnhancedCode{4, 2, 1} // mailbox temporarily unavailable
	}
	return smtp.EnhancedCodeNotSet // X.0.0
}

func (s *Server) logf(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.tbDone {
		s.tb.Logf(format, args...)
	}
}

// logger sends go-smtp's internal error log to the test log.
type logger struct{ s *Server }

func (l logger) Printf(format string, v ...any) { l.s.logf("smtptest: "+format, v...) }
func (l logger) Println(v ...any) {
	l.s.logf("smtptest: %s", strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

var errAuthRequired = &smtp.SMTPError{
	Code:         530,
	EnhancedCode: smtp.EnhancedCode{5, 7, 0},
	Message:      "Authentication required",
}

func (s *Server) newSession(*smtp.Conn) (smtp.Session, error) {
	return &session{s: s}, nil
}

// session is one SMTP connection; go-smtp calls its methods from the
// connection's goroutine only.
type session struct {
	s        *Server
	authUser string
	authed   bool
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (ss *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		cfg := ss.s.cfg
		if cfg.auth && (user != cfg.user || pass != cfg.pass || (identity != "" && identity != user)) {
			return smtp.ErrAuthFailed // 535 5.7.8
		}
		ss.authUser, ss.authed = user, true
		return nil
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if ss.s.cfg.auth && !ss.authed {
		return errAuthRequired
	}
	ss.from, ss.to = from, nil
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	fail := ss.s.rcptFail[strings.ToLower(to)]
	ss.s.mu.Unlock()
	if fail != nil {
		e := *fail
		return &e
	}
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := ss.s
	s.mu.Lock()
	if s.dataFails > 0 {
		s.dataFails--
		code := s.dataCode
		s.mu.Unlock()
		enh := smtp.EnhancedCodeNotSet
		if code == 552 {
			enh = smtp.EnhancedCode{5, 3, 4}
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: enh, Message: defaultText(code, "Transaction failed")}
	}
	s.mu.Unlock()

	m := parse(data)
	m.From, m.To, m.AuthUser = ss.from, append([]string(nil), ss.to...), ss.authUser
	if m.ParseErr != nil {
		s.logf("smtptest: message from <%s>: %v", m.From, m.ParseErr)
	}

	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }

// parse fills the MIME-derived fields of a Message from data.
func parse(data []byte) Message {
	m := Message{Data: data}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		m.ParseErr = err
		return m
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		m.Subject = subj
	} else {
		m.Subject = msg.Header.Get("Subject")
	}
	m.ParseErr = walk(&m, msg.Header, msg.Body, 0)
	return m
}

// getter is what mail.Header and textproto.MIMEHeader have in common.
type getter interface{ Get(key string) string }

// walk finds the text/plain and text/html parts of a MIME entity with the
// given header and (still transfer-encoded) body.
func walk(m *Message, h getter, body io.Reader, depth int) error {
	if depth > 20 {
		return errors.New("MIME parts nested too deep")
	}
	ctype := h.Get("Content-Type")
	if ctype == "" {
		ctype = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(ctype)
	if err != nil {
		return fmt.Errorf("content type %q: %w", ctype, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves Content-Transfer-Encoding to us, the same
			// way for every encoding.
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", mediaType, err)
			}
			if err := walk(m, p.Header, p, depth+1); err != nil {
				return err
			}
		}
	}
	if disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition")); disp == "attachment" {
		return nil
	}
	var dst *string
	switch mediaType {
	case "text/plain":
		dst = &m.Text
	case "text/html":
		dst = &m.HTML
	}
	if dst == nil || *dst != "" {
		return nil
	}
	var r io.Reader = body
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body) // skips CR and LF
	case "", "7bit", "8bit", "binary":
	default:
		return fmt.Errorf("unknown Content-Transfer-Encoding %q", cte)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s body: %w", mediaType, err)
	}
	*dst = strings.ReplaceAll(string(b), "\r\n", "\n")
	return nil
}

// To returns the messages whose only recipient is addr and whose subject
// contains about ("" for all of them), in arrival order.
func (s *Server) To(addr, about string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], addr) && strings.Contains(m.Subject, about) {
			out = append(out, m)
		}
	}
	return out
}

// After returns what follows the first prefix in text, up to the end of
// its line or a space: a link's token or path in a mail's text part.
func After(tb testing.TB, text, prefix string) string {
	tb.Helper()
	i := strings.Index(text, prefix)
	if i < 0 {
		tb.Fatalf("no %s in:\n%s", prefix, text)
	}
	rest := text[i+len(prefix):]
	if j := strings.IndexAny(rest, " \n\r"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}
