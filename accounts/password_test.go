package accounts_test

import (
	"regexp"
	"strings"
	"testing"

	"agora/accounts"
)

// argonPrefix is the PHC header of the OWASP-minimum argon2id parameters.
const argonPrefix = "$argon2id$v=19$m=19456,t=2,p=1$"

func TestHashPassword(t *testing.T) {
	t.Parallel()
	const pw = "correct horse battery staple"
	h1, err := accounts.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	h2, err := accounts.HashPassword(pw)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h1, argonPrefix) {
		t.Errorf("hash = %q, want prefix %q", h1, argonPrefix)
	}
	if h1 == h2 {
		t.Errorf("two hashes of the same password are equal (%q): want a random salt each", h1)
	}
	if strings.Contains(h1, pw) {
		t.Errorf("hash %q contains the password", h1)
	}

	tests := []struct {
		name string
		pw   string
		hash string
		want bool
	}{
		{"right password", pw, h1, true},
		{"right password other salt", pw, h2, true},
		{"wrong password", "correct horse battery stapler", h1, false},
		{"other case", strings.ToUpper(pw), h1, false},
		{"empty password", "", h1, false},
		{"empty hash", pw, "", false},
		{"garbage hash", pw, "not a hash", false},
		{"bcrypt hash", pw, "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", false},
		{"truncated hash", pw, h1[:len(h1)-10], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := accounts.CheckPassword(tt.pw, tt.hash); got != tt.want {
				t.Errorf("CheckPassword(%q, %q) = %v, want %v", tt.pw, tt.hash, got, tt.want)
			}
		})
	}
}

func TestNewToken(t *testing.T) {
	t.Parallel()
	urlSafe := regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`) // 32 bytes, base64url without padding
	seen := map[string]bool{}
	for range 100 {
		tok := accounts.NewToken()
		if !urlSafe.MatchString(tok) {
			t.Fatalf("NewToken() = %q, want 43 URL-safe characters", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q", tok)
		}
		seen[tok] = true
	}
}

func TestHashToken(t *testing.T) {
	t.Parallel()
	tok := accounts.NewToken()
	h := accounts.HashToken(tok)
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(h) {
		t.Errorf("HashToken = %q, want 64 hex digits", h)
	}
	if h == tok || strings.Contains(h, tok) {
		t.Errorf("HashToken(%q) = %q, want something other than the token", tok, h)
	}
	if again := accounts.HashToken(tok); again != h {
		t.Errorf("HashToken not deterministic: %q then %q", h, again)
	}
	if other := accounts.HashToken(tok + "x"); other == h {
		t.Errorf("different tokens hash the same: %q", h)
	}
	// A known vector: SHA-256 of "abc".
	if got, want := accounts.HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Errorf(`HashToken("abc") = %s, want %s`, got, want)
	}
}
