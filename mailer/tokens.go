package mailer

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Links in mail carry signed tokens: the purpose, the member, an expiry and
// a fingerprint of what the link is about, signed with the installation's
// key (models.Secret). Nothing is stored per link, and a link stops working
// by itself when what it is about changes: a verification link when the
// address changes, a reset link once the password has changed (so each is
// used once).

// Token purposes.
const (
	purposeVerify = "verify"
	purposeReset  = "reset"
	purposeUnsub  = "unsub"
)

// ErrBadToken is a link that was forged, mangled, has expired or is used up.
var ErrBadToken = errors.New("this link is not valid any more")

type claims struct {
	Purpose string
	UserID  int64
	Expires int64  // Unix seconds; 0: never
	About   string // the fingerprint, or the mail kind of an unsubscribe link
}

func (s *Service) sign(c claims) string {
	payload := strings.Join([]string{c.Purpose, strconv.FormatInt(c.UserID, 10),
		strconv.FormatInt(c.Expires, 10), c.About}, "|")
	return base64.RawURLEncoding.EncodeToString([]byte(payload)) + "." +
		base64.RawURLEncoding.EncodeToString(s.mac(payload))
}

func (s *Service) mac(payload string) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(payload))
	return m.Sum(nil)[:20]
}

// open checks token's signature, purpose and expiry and returns its claims.
func (s *Service) open(token, purpose string, now time.Time) (claims, error) {
	p64, m64, ok := strings.Cut(token, ".")
	if !ok || len(token) > 512 {
		return claims{}, ErrBadToken
	}
	payload, err1 := base64.RawURLEncoding.DecodeString(p64)
	mac, err2 := base64.RawURLEncoding.DecodeString(m64)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, s.mac(string(payload))) {
		return claims{}, ErrBadToken
	}
	parts := strings.SplitN(string(payload), "|", 4)
	if len(parts) != 4 || parts[0] != purpose {
		return claims{}, ErrBadToken
	}
	c := claims{Purpose: parts[0], About: parts[3]}
	c.UserID, err1 = strconv.ParseInt(parts[1], 10, 64)
	c.Expires, err2 = strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || (c.Expires != 0 && now.Unix() > c.Expires) {
		return claims{}, ErrBadToken
	}
	return c, nil
}

// fingerprint is a short digest of what a link is about.
func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
