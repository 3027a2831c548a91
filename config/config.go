// Package config reads Agora's settings from environment variables, with
// command-line flags overriding them, and rejects bad values by name.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is every setting the server needs.
type Config struct {
	Addr           string        // AGORA_ADDR
	DatabaseURL    string        // AGORA_DATABASE_URL; default sqlite under DataDir
	DataDir        string        // AGORA_DATA_DIR
	BaseURL        string        // AGORA_BASE_URL: public URL; https makes cookies Secure
	SearchDir      string        // AGORA_SEARCH_DIR; default under DataDir
	TrustedProxies []string      // AGORA_TRUSTED_PROXIES: comma-separated IPs/CIDRs allowed to set X-Forwarded-For
	LogLevel       string        // AGORA_LOG_LEVEL: debug, info, warn, error
	RateLimit      int           // AGORA_RATE_LIMIT: API requests per minute per client
	ShutdownGrace  time.Duration // AGORA_SHUTDOWN_GRACE: time allowed for in-flight requests at shutdown
	PageCacheMB    int           // AGORA_PAGE_CACHE_MB: memory for rendered pages (compressed); 0 turns the cache off
	RetentionDays  int           // AGORA_RETENTION_DAYS: how long addresses, browsers and sent mail are kept
	RedisURL       string        // AGORA_REDIS_URL: rate limits and login backoff in Redis instead of the database
	AbuseLimits    bool          // AGORA_ABUSE_LIMITS: on (default) or off: posting, flag, registration and search limits

	// Sign-in with other accounts, from the environment only (a flag would
	// show its secret in the process list).
	OAuth            map[string]Client // AGORA_OAUTH_<PROVIDER>_CLIENT_ID and _CLIENT_SECRET, by provider (OAuthProviders)
	OIDCDiscoveryURL string            // AGORA_OIDC_DISCOVERY_URL: the company's OpenID Connect provider
	OIDC             Client            // AGORA_OIDC_CLIENT_ID, AGORA_OIDC_CLIENT_SECRET
	OIDCName         string            // AGORA_OIDC_NAME: the sign-in button's name for it
	SSOSecret        string            // AGORA_SSO_SECRET: the key the customer's product signs SSO payloads with

	// Mail, from the environment only (the SMTP URL may hold a password).
	SMTPURL           string // AGORA_SMTP_URL: smtp:// or smtps://; empty: mail is written to the log
	MailFrom          string // AGORA_MAIL_FROM: the From address; required with SMTP
	MailPostalAddress string // AGORA_MAIL_POSTAL_ADDRESS: in every mail's footer; required with SMTP
}

// Client is an OAuth client registration.
type Client struct {
	ID, Secret string
}

// OAuthProviders are the providers AGORA_OAUTH_<PROVIDER>_… switch on.
var OAuthProviders = []string{"github", "google", "microsoft", "gitlab"}

// minSSOSecret is the shortest SSO secret accepted: HMAC keys should be long and random.
const minSSOSecret = 32

// Error names the setting that is wrong.
type Error struct {
	Var, Value, Why string
}

func (e *Error) Error() string { return fmt.Sprintf("%s=%q: %s", e.Var, e.Value, e.Why) }

// ErrBadFlag wraps a command line that does not parse (an unknown flag, a
// flag without its value): a usage error, like a bad setting.
var ErrBadFlag = errors.New("bad command-line flag")

// Load reads getenv, then flags from args (which override), and validates.
// Remaining positional arguments are returned.
func Load(args []string, getenv func(string) string) (Config, []string, error) {
	env := func(k, def string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return def
	}
	var c Config
	var proxies, rate, grace, pageCache, retention, abuse string
	fs := flag.NewFlagSet("agora", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.Addr, "addr", env("AGORA_ADDR", "127.0.0.1:3000"), "listen address")
	fs.StringVar(&c.DataDir, "data-dir", env("AGORA_DATA_DIR", "data"), "data directory")
	fs.StringVar(&c.DatabaseURL, "database-url", env("AGORA_DATABASE_URL", ""), "sqlite://path or postgres://…")
	fs.StringVar(&c.BaseURL, "base-url", env("AGORA_BASE_URL", ""), "public base URL")
	fs.StringVar(&c.SearchDir, "search-dir", env("AGORA_SEARCH_DIR", ""), "search index directory")
	fs.StringVar(&proxies, "trusted-proxies", env("AGORA_TRUSTED_PROXIES", ""), "trusted proxy IPs or CIDRs")
	fs.StringVar(&c.LogLevel, "log-level", env("AGORA_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&rate, "rate-limit", env("AGORA_RATE_LIMIT", "600"), "API requests per minute per client")
	fs.StringVar(&grace, "shutdown-grace", env("AGORA_SHUTDOWN_GRACE", "15s"), "shutdown grace period")
	fs.StringVar(&pageCache, "page-cache-mb", env("AGORA_PAGE_CACHE_MB", "64"), "MiB of memory for rendered pages (0: off)")
	fs.StringVar(&retention, "retention-days", env("AGORA_RETENTION_DAYS", "90"), "days IP addresses, user agents and sent mail are kept")
	fs.StringVar(&c.RedisURL, "redis-url", env("AGORA_REDIS_URL", ""), "redis://host:port/db for rate limits shared by every node")
	fs.StringVar(&abuse, "abuse-limits", env("AGORA_ABUSE_LIMITS", "on"), "on or off: per-member posting and flag limits, registration and search per address")
	if err := fs.Parse(args); err != nil {
		return c, nil, fmt.Errorf("%w: %w", ErrBadFlag, err) // errors.Is(err, flag.ErrHelp) for -h
	}
	if c.DatabaseURL == "" {
		c.DatabaseURL = "sqlite://" + filepath.Join(c.DataDir, "agora.db")
	}
	if c.SearchDir == "" {
		c.SearchDir = filepath.Join(c.DataDir, "search")
	}
	if !strings.HasPrefix(c.DatabaseURL, "sqlite://") && !strings.HasPrefix(c.DatabaseURL, "postgres://") &&
		!strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		return c, nil, &Error{"AGORA_DATABASE_URL", c.DatabaseURL, "scheme must be sqlite:// or postgres://"}
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return c, nil, &Error{"AGORA_ADDR", c.Addr, "want host:port"}
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, nil, &Error{"AGORA_BASE_URL", c.BaseURL, "want an absolute http(s) URL"}
	}
	// Schemes are case-insensitive; keep the lower-case one so that
	// SecureCookies and the links built from BaseURL agree.
	c.BaseURL = u.Scheme + strings.TrimRight(c.BaseURL[len(u.Scheme):], "/")
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		if net.ParseIP(p) == nil {
			if _, _, err := net.ParseCIDR(p); err != nil {
				return c, nil, &Error{"AGORA_TRUSTED_PROXIES", p, "want an IP address or CIDR"}
			}
		}
		c.TrustedProxies = append(c.TrustedProxies, p)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return c, nil, &Error{"AGORA_LOG_LEVEL", c.LogLevel, "want debug, info, warn or error"}
	}
	// strconv, not fmt.Sscan: Sscan would read "10abc" as 10 and "1.5" as 1.
	if c.RateLimit, err = strconv.Atoi(strings.TrimSpace(rate)); err != nil || c.RateLimit < 1 {
		return c, nil, &Error{"AGORA_RATE_LIMIT", rate, "want a positive whole number"}
	}
	d, err := time.ParseDuration(grace)
	if err != nil || d < 0 {
		return c, nil, &Error{"AGORA_SHUTDOWN_GRACE", grace, "want a duration like 15s"}
	}
	c.ShutdownGrace = d
	if c.PageCacheMB, err = strconv.Atoi(strings.TrimSpace(pageCache)); err != nil || c.PageCacheMB < 0 {
		return c, nil, &Error{"AGORA_PAGE_CACHE_MB", pageCache, "want a whole number of MiB (0 turns the cache off)"}
	}
	if c.RetentionDays, err = strconv.Atoi(strings.TrimSpace(retention)); err != nil || c.RetentionDays < 1 || c.RetentionDays > 3650 {
		return c, nil, &Error{"AGORA_RETENTION_DAYS", retention, "want a whole number of days from 1 to 3650"}
	}
	switch abuse {
	case "on", "off":
		c.AbuseLimits = abuse == "on"
	default:
		return c, nil, &Error{"AGORA_ABUSE_LIMITS", abuse, "want on or off"}
	}
	if err := checkRedisURL(c.RedisURL); err != nil {
		return c, nil, err
	}
	if err := c.loadSignIn(getenv); err != nil {
		return c, nil, err
	}
	if err := c.loadMail(getenv); err != nil {
		return c, nil, err
	}
	return c, fs.Args(), nil
}

// loadSignIn reads the providers and the SSO secret; half a registration is an error naming the missing half.
func (c *Config) loadSignIn(getenv func(string) string) error {
	pair := func(idVar, secretVar string) (Client, error) {
		cl := Client{ID: strings.TrimSpace(getenv(idVar)), Secret: strings.TrimSpace(getenv(secretVar))}
		switch {
		case cl.ID != "" && cl.Secret == "":
			return cl, &Error{secretVar, "", "set it too: " + idVar + " is set"}
		case cl.ID == "" && cl.Secret != "":
			return cl, &Error{idVar, "", "set it too: " + secretVar + " is set"}
		}
		return cl, nil
	}
	c.OAuth = map[string]Client{}
	for _, p := range OAuthProviders {
		v := "AGORA_OAUTH_" + strings.ToUpper(p) + "_CLIENT_"
		cl, err := pair(v+"ID", v+"SECRET")
		if err != nil {
			return err
		}
		if cl.ID != "" {
			c.OAuth[p] = cl
		}
	}
	oidc, err := pair("AGORA_OIDC_CLIENT_ID", "AGORA_OIDC_CLIENT_SECRET")
	if err != nil {
		return err
	}
	c.OIDC, c.OIDCDiscoveryURL, c.OIDCName = oidc, strings.TrimSpace(getenv("AGORA_OIDC_DISCOVERY_URL")), strings.TrimSpace(getenv("AGORA_OIDC_NAME"))
	switch {
	case c.OIDCDiscoveryURL != "" && oidc.ID == "":
		return &Error{"AGORA_OIDC_CLIENT_ID", "", "set it (and AGORA_OIDC_CLIENT_SECRET): AGORA_OIDC_DISCOVERY_URL is set"}
	case c.OIDCDiscoveryURL == "" && oidc.ID != "":
		return &Error{"AGORA_OIDC_DISCOVERY_URL", "", "set it: AGORA_OIDC_CLIENT_ID is set"}
	case c.OIDCDiscoveryURL != "":
		if u, err := url.Parse(c.OIDCDiscoveryURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return &Error{"AGORA_OIDC_DISCOVERY_URL", c.OIDCDiscoveryURL, "want an absolute https URL, like https://id.example.com/.well-known/openid-configuration"}
		}
	}
	c.SSOSecret = getenv("AGORA_SSO_SECRET")
	if c.SSOSecret != "" && len(c.SSOSecret) < minSSOSecret {
		return &Error{"AGORA_SSO_SECRET", "(hidden)", fmt.Sprintf("use at least %d random characters", minSSOSecret)}
	}
	return nil
}

// loadMail reads the mail settings: with SMTP, the sender and postal
// address are required (the sending guidelines want both on every mail).
func (c *Config) loadMail(getenv func(string) string) error {
	c.SMTPURL = strings.TrimSpace(getenv("AGORA_SMTP_URL"))
	c.MailFrom = strings.TrimSpace(getenv("AGORA_MAIL_FROM"))
	c.MailPostalAddress = strings.TrimSpace(getenv("AGORA_MAIL_POSTAL_ADDRESS"))
	if c.SMTPURL == "" {
		return nil
	}
	u, err := url.Parse(c.SMTPURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return &Error{"AGORA_SMTP_URL", "(hidden)", "want smtp://[user:password@]host[:port] or smtps://…"}
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return &Error{"AGORA_SMTP_URL", "(hidden)", "the port must be a number from 1 to 65535"}
		}
	}
	if _, err := mail.ParseAddress(c.MailFrom); err != nil {
		if c.MailFrom == "" {
			return &Error{"AGORA_MAIL_FROM", "", "set it (the From address of every mail): AGORA_SMTP_URL is set"}
		}
		return &Error{"AGORA_MAIL_FROM", c.MailFrom, "want an address like Community <community@example.com>"}
	}
	if c.MailPostalAddress == "" {
		return &Error{"AGORA_MAIL_POSTAL_ADDRESS", "", "set it (the operator's postal address, in every mail's footer): AGORA_SMTP_URL is set"}
	}
	return nil
}

// checkRedisURL accepts an empty URL (the database holds the limits) or
// redis:// and rediss:// URLs with a host, a valid port and a database number.
func checkRedisURL(raw string) error {
	if raw == "" {
		return nil
	}
	bad := func(why string) error { return &Error{"AGORA_REDIS_URL", Redact(raw), why} }
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Hostname() == "" {
		return bad("want redis://[user:password@]host:port[/db] or rediss://…")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("the port must be a number from 1 to 65535")
		}
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return bad("the path must be a database number, like /0")
		}
	}
	return nil
}

// Redact hides the password of a URL shown in an error or the log.
func Redact(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	return "(hidden)"
}

// SecureCookies reports whether cookies must carry the Secure attribute.
func (c Config) SecureCookies() bool { return strings.HasPrefix(c.BaseURL, "https://") }
