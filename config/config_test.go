package config_test

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"agora/config"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// mustLoad loads args and env m, failing the test on an error.
func mustLoad(t *testing.T, args []string, m map[string]string) (config.Config, []string) {
	t.Helper()
	c, rest, err := config.Load(args, env(m))
	if err != nil {
		t.Fatalf("Load(%q, %v): %v", args, m, err)
	}
	return c, rest
}

func TestLoadDefaults(t *testing.T) {
	t.Parallel()
	c, rest := mustLoad(t, nil, nil)
	want := config.Config{
		Addr:          "127.0.0.1:3000",
		DatabaseURL:   "sqlite://" + filepath.Join("data", "agora.db"),
		DataDir:       "data",
		BaseURL:       "http://127.0.0.1:3000",
		SearchDir:     filepath.Join("data", "search"),
		LogLevel:      "info",
		RateLimit:     600,
		ShutdownGrace: 15 * time.Second,
		PageCacheMB:   64,
		RetentionDays: 90,
		AbuseLimits:   true,
		OAuth:         map[string]config.Client{},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", c, want)
	}
	if len(rest) != 0 {
		t.Errorf("rest = %q, want none", rest)
	}
	if c.SecureCookies() {
		t.Error("SecureCookies() = true for an http base URL, want false")
	}
}

func TestLoadFromEnv(t *testing.T) {
	t.Parallel()
	c, _ := mustLoad(t, nil, map[string]string{
		"AGORA_ADDR":            "0.0.0.0:8080",
		"AGORA_DATA_DIR":        "/var/lib/agora",
		"AGORA_BASE_URL":        "https://forum.example/",
		"AGORA_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1 ,",
		"AGORA_LOG_LEVEL":       "debug",
		"AGORA_RATE_LIMIT":      "120",
		"AGORA_SHUTDOWN_GRACE":  "3s",
		"AGORA_PAGE_CACHE_MB":   "0",
		"AGORA_REDIS_URL":       "redis://:pw@cache.internal:6380/2",
		"AGORA_ABUSE_LIMITS":    "off",
	})
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "0.0.0.0:8080"},
		{"DataDir", c.DataDir, "/var/lib/agora"},
		{"DatabaseURL", c.DatabaseURL, "sqlite:///var/lib/agora/agora.db"},
		{"SearchDir", c.SearchDir, "/var/lib/agora/search"},
		{"BaseURL", c.BaseURL, "https://forum.example"},
		{"TrustedProxies", c.TrustedProxies, []string{"10.0.0.0/8", "192.168.1.1"}},
		{"LogLevel", c.LogLevel, "debug"},
		{"RateLimit", c.RateLimit, 120},
		{"ShutdownGrace", c.ShutdownGrace, 3 * time.Second},
		{"PageCacheMB", c.PageCacheMB, 0},
		{"RedisURL", c.RedisURL, "redis://:pw@cache.internal:6380/2"},
		{"AbuseLimits", c.AbuseLimits, false},
		{"SecureCookies", c.SecureCookies(), true},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadExplicitURLs(t *testing.T) {
	t.Parallel()
	c, _ := mustLoad(t, nil, map[string]string{
		"AGORA_DATABASE_URL": "postgres://agora@db:5432/agora",
		"AGORA_SEARCH_DIR":   "/srv/index",
	})
	if c.DatabaseURL != "postgres://agora@db:5432/agora" {
		t.Errorf("DatabaseURL = %q, want the env value", c.DatabaseURL)
	}
	if c.SearchDir != "/srv/index" {
		t.Errorf("SearchDir = %q, want /srv/index", c.SearchDir)
	}
}

func TestFlagsOverrideEnv(t *testing.T) {
	t.Parallel()
	m := map[string]string{
		"AGORA_ADDR":         "0.0.0.0:8080",
		"AGORA_DATABASE_URL": "postgres://env/db",
		"AGORA_LOG_LEVEL":    "error",
		"AGORA_RATE_LIMIT":   "5",
		"AGORA_BASE_URL":     "http://env.example",
	}
	c, rest := mustLoad(t, []string{
		"--addr", "127.0.0.1:9000", "--database-url", "sqlite:///tmp/x.db", "--log-level=warn",
		"--rate-limit", "7", "--base-url", "https://flag.example", "--redis-url", "rediss://r.example:6379/0", "extra", "args",
	}, m)
	checks := []struct {
		name      string
		got, want any
	}{
		{"Addr", c.Addr, "127.0.0.1:9000"},
		{"DatabaseURL", c.DatabaseURL, "sqlite:///tmp/x.db"},
		{"LogLevel", c.LogLevel, "warn"},
		{"RateLimit", c.RateLimit, 7},
		{"BaseURL", c.BaseURL, "https://flag.example"},
		{"RedisURL", c.RedisURL, "rediss://r.example:6379/0"},
		{"rest", rest, []string{"extra", "args"}},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %#v, want %#v", ch.name, ch.got, ch.want)
		}
	}
}

func TestLoadRejectsBadValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantVar string
	}{
		{"unknown database scheme", map[string]string{"AGORA_DATABASE_URL": "mysql://db/agora"}, nil, "AGORA_DATABASE_URL"},
		{"database path without scheme", map[string]string{"AGORA_DATABASE_URL": "/tmp/agora.db"}, nil, "AGORA_DATABASE_URL"},
		{"bad database flag", nil, []string{"--database-url", "redis://x"}, "AGORA_DATABASE_URL"},
		{"addr without port", map[string]string{"AGORA_ADDR": "localhost"}, nil, "AGORA_ADDR"},
		{"addr garbage", map[string]string{"AGORA_ADDR": "not an address"}, nil, "AGORA_ADDR"},
		{"base URL without scheme", map[string]string{"AGORA_BASE_URL": "forum.example"}, nil, "AGORA_BASE_URL"},
		{"base URL ftp", map[string]string{"AGORA_BASE_URL": "ftp://forum.example"}, nil, "AGORA_BASE_URL"},
		{"base URL without host", map[string]string{"AGORA_BASE_URL": "https://"}, nil, "AGORA_BASE_URL"},
		{"trusted proxy hostname", map[string]string{"AGORA_TRUSTED_PROXIES": "10.0.0.1,proxy.local"}, nil, "AGORA_TRUSTED_PROXIES"},
		{"trusted proxy bad CIDR", map[string]string{"AGORA_TRUSTED_PROXIES": "10.0.0.0/99"}, nil, "AGORA_TRUSTED_PROXIES"},
		{"log level unknown", map[string]string{"AGORA_LOG_LEVEL": "verbose"}, nil, "AGORA_LOG_LEVEL"},
		{"rate limit zero", map[string]string{"AGORA_RATE_LIMIT": "0"}, nil, "AGORA_RATE_LIMIT"},
		{"rate limit negative", map[string]string{"AGORA_RATE_LIMIT": "-5"}, nil, "AGORA_RATE_LIMIT"},
		{"rate limit word", map[string]string{"AGORA_RATE_LIMIT": "lots"}, nil, "AGORA_RATE_LIMIT"},
		{"rate limit trailing junk", map[string]string{"AGORA_RATE_LIMIT": "10abc"}, nil, "AGORA_RATE_LIMIT"},
		{"rate limit fraction", map[string]string{"AGORA_RATE_LIMIT": "1.5"}, nil, "AGORA_RATE_LIMIT"},
		{"rate limit flag", nil, []string{"--rate-limit", "none"}, "AGORA_RATE_LIMIT"},
		{"page cache negative", map[string]string{"AGORA_PAGE_CACHE_MB": "-1"}, nil, "AGORA_PAGE_CACHE_MB"},
		{"page cache word", map[string]string{"AGORA_PAGE_CACHE_MB": "big"}, nil, "AGORA_PAGE_CACHE_MB"},
		{"retention zero", map[string]string{"AGORA_RETENTION_DAYS": "0"}, nil, "AGORA_RETENTION_DAYS"},
		{"retention word", map[string]string{"AGORA_RETENTION_DAYS": "forever"}, nil, "AGORA_RETENTION_DAYS"},
		{"shutdown grace no unit", map[string]string{"AGORA_SHUTDOWN_GRACE": "15"}, nil, "AGORA_SHUTDOWN_GRACE"},
		{"shutdown grace negative", map[string]string{"AGORA_SHUTDOWN_GRACE": "-1s"}, nil, "AGORA_SHUTDOWN_GRACE"},
		{"oauth id without secret", map[string]string{"AGORA_OAUTH_GITHUB_CLIENT_ID": "abc"}, nil, "AGORA_OAUTH_GITHUB_CLIENT_SECRET"},
		{"oauth secret without id", map[string]string{"AGORA_OAUTH_GITLAB_CLIENT_SECRET": "s"}, nil, "AGORA_OAUTH_GITLAB_CLIENT_ID"},
		{"oidc url without client", map[string]string{"AGORA_OIDC_DISCOVERY_URL": "https://id.example.com/.well-known/openid-configuration"}, nil, "AGORA_OIDC_CLIENT_ID"},
		{"oidc client without url", map[string]string{"AGORA_OIDC_CLIENT_ID": "a", "AGORA_OIDC_CLIENT_SECRET": "b"}, nil, "AGORA_OIDC_DISCOVERY_URL"},
		{"oidc url relative", map[string]string{"AGORA_OIDC_DISCOVERY_URL": "/oidc", "AGORA_OIDC_CLIENT_ID": "a", "AGORA_OIDC_CLIENT_SECRET": "b"}, nil, "AGORA_OIDC_DISCOVERY_URL"},
		{"redis scheme", map[string]string{"AGORA_REDIS_URL": "http://127.0.0.1:6379"}, nil, "AGORA_REDIS_URL"},
		{"redis without host", map[string]string{"AGORA_REDIS_URL": "redis://"}, nil, "AGORA_REDIS_URL"},
		{"redis bad port", map[string]string{"AGORA_REDIS_URL": "redis://127.0.0.1:99999"}, nil, "AGORA_REDIS_URL"},
		{"redis bad database", map[string]string{"AGORA_REDIS_URL": "redis://127.0.0.1:6379/cache"}, nil, "AGORA_REDIS_URL"},
		{"redis flag", nil, []string{"--redis-url", "127.0.0.1:6379"}, "AGORA_REDIS_URL"},
		{"abuse limits word", map[string]string{"AGORA_ABUSE_LIMITS": "maybe"}, nil, "AGORA_ABUSE_LIMITS"},
		{"sso secret too short", map[string]string{"AGORA_SSO_SECRET": "short"}, nil, "AGORA_SSO_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Load(tt.args, env(tt.env))
			var ce *config.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Load error = %v (%T), want *config.Error", err, err)
			}
			if ce.Var != tt.wantVar {
				t.Errorf("Error.Var = %q, want %q (error %q)", ce.Var, tt.wantVar, err)
			}
			if ce.Why == "" {
				t.Errorf("Error.Why is empty, want a reason")
			}
		})
	}
}

func TestErrorMessageNamesVariable(t *testing.T) {
	t.Parallel()
	_, _, err := config.Load(nil, env(map[string]string{"AGORA_LOG_LEVEL": "loud"}))
	if err == nil {
		t.Fatal("Load accepted AGORA_LOG_LEVEL=loud")
	}
	want := `AGORA_LOG_LEVEL="loud": want debug, info, warn or error`
	if got := err.Error(); got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestUnknownFlagIsBadFlag(t *testing.T) {
	t.Parallel()
	_, _, err := config.Load([]string{"--no-such-flag"}, env(nil))
	if !errors.Is(err, config.ErrBadFlag) {
		t.Errorf("Load(--no-such-flag) error = %v, want config.ErrBadFlag", err)
	}
}

func TestSecureCookies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base string
		want bool
	}{
		{"http://forum.example", false},
		{"https://forum.example", true},
		{"https://forum.example/community/", true},
		{"HTTPS://forum.example", true}, // schemes are case-insensitive
		{"Https://forum.example", true},
	}
	for _, tt := range tests {
		t.Run(tt.base, func(t *testing.T) {
			t.Parallel()
			c, _ := mustLoad(t, nil, map[string]string{"AGORA_BASE_URL": tt.base})
			if got := c.SecureCookies(); got != tt.want {
				t.Errorf("SecureCookies() for %q = %v, want %v (BaseURL %q)", tt.base, got, tt.want, c.BaseURL)
			}
		})
	}
}

func TestLoadSignIn(t *testing.T) {
	t.Parallel()
	secret := "0123456789abcdef0123456789abcdef"
	c, _ := mustLoad(t, nil, map[string]string{
		"AGORA_OAUTH_GITHUB_CLIENT_ID": "gh-id", "AGORA_OAUTH_GITHUB_CLIENT_SECRET": "gh-secret",
		"AGORA_OIDC_DISCOVERY_URL": "https://id.example.com/.well-known/openid-configuration",
		"AGORA_OIDC_CLIENT_ID":     "oidc-id", "AGORA_OIDC_CLIENT_SECRET": "oidc-secret", "AGORA_OIDC_NAME": "Acme ID",
		"AGORA_SSO_SECRET": secret,
	})
	if got, want := c.OAuth, map[string]config.Client{"github": {ID: "gh-id", Secret: "gh-secret"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("OAuth = %+v, want %+v", got, want)
	}
	if c.OIDC.ID != "oidc-id" || c.OIDC.Secret != "oidc-secret" || c.OIDCName != "Acme ID" || c.SSOSecret != secret {
		t.Errorf("OIDC %+v name %q SSO secret %q", c.OIDC, c.OIDCName, c.SSOSecret)
	}
	_, _, err := config.Load(nil, env(map[string]string{"AGORA_SSO_SECRET": "short-secret"}))
	if err == nil || strings.Contains(err.Error(), "short-secret") {
		t.Errorf("a short SSO secret: error %v, want one that does not show the secret", err)
	}
}

func TestLoadMail(t *testing.T) {
	t.Parallel()
	c, _ := mustLoad(t, nil, map[string]string{"AGORA_SMTP_URL": "smtps://agora:s3cret@mail.example.com",
		"AGORA_MAIL_FROM": "Community <community@example.com>", "AGORA_MAIL_POSTAL_ADDRESS": "1 Main St, Springfield"})
	if c.SMTPURL != "smtps://agora:s3cret@mail.example.com" || c.MailFrom != "Community <community@example.com>" ||
		c.MailPostalAddress != "1 Main St, Springfield" {
		t.Errorf("mail settings %q %q %q", c.SMTPURL, c.MailFrom, c.MailPostalAddress)
	}
	if c, _ := mustLoad(t, nil, nil); c.SMTPURL != "" {
		t.Errorf("default SMTP URL %q, want none (mail goes to the log)", c.SMTPURL)
	}
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantVar string
	}{
		{"no from", map[string]string{"AGORA_SMTP_URL": "smtp://127.0.0.1:25", "AGORA_MAIL_POSTAL_ADDRESS": "x"}, "AGORA_MAIL_FROM"},
		{"bad from", map[string]string{"AGORA_SMTP_URL": "smtp://127.0.0.1:25", "AGORA_MAIL_FROM": "not an address",
			"AGORA_MAIL_POSTAL_ADDRESS": "x"}, "AGORA_MAIL_FROM"},
		{"no postal address", map[string]string{"AGORA_SMTP_URL": "smtp://127.0.0.1:25", "AGORA_MAIL_FROM": "a@example.com"},
			"AGORA_MAIL_POSTAL_ADDRESS"},
		{"bad scheme", map[string]string{"AGORA_SMTP_URL": "http://u:hunter2@mail.example.com"}, "AGORA_SMTP_URL"},
		{"bad port", map[string]string{"AGORA_SMTP_URL": "smtp://u:hunter2@mail.example.com:99999"}, "AGORA_SMTP_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := config.Load(nil, env(tc.env))
			var ce *config.Error
			if !errors.As(err, &ce) || ce.Var != tc.wantVar {
				t.Fatalf("error %v, want one naming %s", err, tc.wantVar)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q shows the SMTP password", err)
			}
		})
	}
}

// TestRedisErrorHidesPassword: a refused AGORA_REDIS_URL is named without its password.
func TestRedisErrorHidesPassword(t *testing.T) {
	t.Parallel()
	_, _, err := config.Load(nil, env(map[string]string{"AGORA_REDIS_URL": "redis://agora:hunter2@cache:6379/x"}))
	if err == nil {
		t.Fatal("Load accepted a Redis URL whose database is not a number")
	}
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "AGORA_REDIS_URL") {
		t.Errorf("error = %q, want it to name AGORA_REDIS_URL without the password", err)
	}
}
