package oidctest_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/markbates/goth/providers/github"
	"github.com/markbates/goth/providers/openidConnect"
	"golang.org/x/oauth2"

	"agora/internal/oidctest"
)

const callback = "http://agora.test/auth/oidc/callback"

// noRedirect reads the provider's redirect instead of following it to the
// (nonexistent) callback host.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func config(s *oidctest.Server, style oauth2.AuthStyle) *oauth2.Config {
	return &oauth2.Config{
		ClientID: s.ClientID, ClientSecret: s.ClientSecret, RedirectURL: callback,
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/authorize", TokenURL: s.URL + "/token", AuthStyle: style},
		Scopes:   []string{"openid", "email", "profile"},
	}
}

// authorize visits authURL like a browser and returns the callback's query.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirect.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if loc.Host != "agora.test" || !strings.HasSuffix(loc.Path, "/callback") {
		t.Fatalf("redirected to %s, want the callback", loc)
	}
	return loc.Query()
}

// code runs the authorize step of cfg and returns the code.
func code(t *testing.T, cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) string {
	t.Helper()
	q := authorize(t, cfg.AuthCodeURL("st4te", opts...))
	if q.Get("state") != "st4te" || q.Get("code") == "" {
		t.Fatalf("callback query %v, want a code and state st4te", q)
	}
	return q.Get("code")
}

// wantRetrieveError checks err is the token endpoint's answer status/code.
func wantRetrieveError(t *testing.T, err error, status int, code string) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *oauth2.RetrieveError", err)
	}
	if re.Response.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("token endpoint answered %d %q, want %d %q", re.Response.StatusCode, re.ErrorCode, status, code)
	}
}

// verify checks raw's RS256 signature against the server's JWKS with
// nothing but crypto/rsa, and returns its claims.
func verify(t *testing.T, s *oidctest.Server, raw string) (map[string]any, error) {
	t.Helper()
	resp, err := http.Get(s.URL + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kty, Kid, Use, Alg, N, E string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].Kid != oidctest.KeyID || set.Keys[0].Kty != "RSA" || set.Keys[0].Alg != "RS256" {
		t.Fatalf("JWKS %+v, want one RS256 key %q", set.Keys, oidctest.KeyID)
	}
	n, err1 := base64.RawURLEncoding.DecodeString(set.Keys[0].N)
	e, err2 := base64.RawURLEncoding.DecodeString(set.Keys[0].E)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatalf("JWKS key is not unpadded base64url: %v", err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}

	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token has %d parts, want 3", len(parts))
	}
	var header map[string]string
	decode(t, parts[0], &header)
	if header["alg"] != "RS256" || header["kid"] != oidctest.KeyID || header["typ"] != "JWT" {
		t.Fatalf("header %v", header)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return nil, err
	}
	var claims map[string]any
	decode(t, parts[1], &claims)
	return claims, nil
}

func decode(t *testing.T, part string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestCodeFlow(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	ctx := t.Context()
	cfg := config(s, oauth2.AuthStyleInHeader)
	verifier := oauth2.GenerateVerifier()
	c := code(t, cfg, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n0nce"))
	// Who signs in is fixed at authorize time.
	s.SetUser(oidctest.User{Subject: "someone-else"})

	tok, err := cfg.Exchange(ctx, c, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.Type() != "Bearer" || time.Until(tok.Expiry) < 59*time.Minute || tok.Extra("scope") != "openid email profile" {
		t.Fatalf("token %+v, scope %v", tok, tok.Extra("scope"))
	}
	raw, _ := tok.Extra("id_token").(string)
	claims, err := verify(t, s, raw)
	if err != nil {
		t.Fatalf("good key: %v", err)
	}
	now := float64(time.Now().Unix())
	want := map[string]any{"iss": s.Issuer(), "aud": s.ClientID, "sub": "1001", "nonce": "n0nce", "email": "ana@example.com",
		"email_verified": true, "name": "Ana Lima", "preferred_username": "ana"}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	if iat, exp := claims["iat"].(float64), claims["exp"].(float64); iat < now-5 || iat > now || exp != iat+3600 {
		t.Errorf("iat %v exp %v, now %v", iat, exp, now)
	}

	// The access token reads userinfo.
	req, _ := http.NewRequestWithContext(ctx, "GET", s.URL+"/userinfo", nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	json.NewDecoder(resp.Body).Decode(&info)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || info["sub"] != "1001" || info["email_verified"] != true || info["preferred_username"] != "ana" {
		t.Fatalf("userinfo %d %v", resp.StatusCode, info)
	}
	if !slices.Contains(s.Requests(), "/token") {
		t.Errorf("requests %v lack /token", s.Requests())
	}

	// A code is good once.
	_, err = cfg.Exchange(ctx, c, oauth2.VerifierOption(verifier))
	wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
}

func TestClientSecretPost(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	s.SetUser(oidctest.User{Subject: "u-7", Email: "bo@example.com"})
	cfg := config(s, oauth2.AuthStyleInParams)
	tok, err := cfg.Exchange(t.Context(), code(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	claims, err := verify(t, s, tok.Extra("id_token").(string))
	if err != nil || claims["sub"] != "u-7" || claims["email_verified"] != false || claims["nonce"] != nil {
		t.Fatalf("claims %v, err %v", claims, err)
	}
}

func TestUnknownKeyFailsVerification(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	s.SignWithUnknownKey(true)
	cfg := config(s, oauth2.AuthStyleInHeader)
	tok, err := cfg.Exchange(t.Context(), code(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, s, tok.Extra("id_token").(string)); !errors.Is(err, rsa.ErrVerification) {
		t.Fatalf("verify = %v, want rsa.ErrVerification", err)
	}
}

func TestExpireCodes(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	cfg := config(s, oauth2.AuthStyleInHeader)
	old := code(t, cfg)
	s.ExpireCodes()
	_, err := cfg.Exchange(t.Context(), old)
	wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
	// Codes issued afterwards are fine.
	if _, err := cfg.Exchange(t.Context(), code(t, cfg)); err != nil {
		t.Fatal(err)
	}
}

func TestDeny(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	s.Deny(true)
	q := authorize(t, config(s, 0).AuthCodeURL("st4te"))
	if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("state") != "st4te" || q.Has("code") {
		t.Fatalf("callback query %v", q)
	}
}

func TestWrongClientSecret(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		cfg := config(s, style)
		c := code(t, cfg)
		bad := *cfg
		bad.ClientSecret = "wrong"
		_, err := bad.Exchange(t.Context(), c)
		wantRetrieveError(t, err, http.StatusUnauthorized, "invalid_client")
		// The client is checked first, so the code was not spent.
		if _, err := cfg.Exchange(t.Context(), c); err != nil {
			t.Fatalf("style %d: %v", style, err)
		}
	}
}

func TestBadGrants(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	cfg := config(s, oauth2.AuthStyleInHeader)

	other := *cfg
	other.RedirectURL = "http://agora.test/elsewhere/callback"
	_, err := other.Exchange(t.Context(), code(t, cfg))
	wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")

	_, err = cfg.Exchange(t.Context(), "no-such-code")
	wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")

	verifier := oauth2.GenerateVerifier()
	c := code(t, cfg, oauth2.S256ChallengeOption(verifier))
	_, err = cfg.Exchange(t.Context(), c, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	wantRetrieveError(t, err, http.StatusBadRequest, "invalid_grant")
}

func TestBadAuthorizeRequests(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	for name, query := range map[string]string{
		"unknown client":    "client_id=nobody&response_type=code&redirect_uri=" + url.QueryEscape(callback),
		"no redirect_uri":   "client_id=" + s.ClientID + "&response_type=code",
		"relative redirect": "client_id=" + s.ClientID + "&response_type=code&redirect_uri=/cb",
	} {
		resp, err := noRedirect.Get(s.URL + "/authorize?" + query)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %s, want 400 text/plain", name, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	q := authorize(t, s.URL+"/authorize?response_type=token&state=x&client_id="+s.ClientID+"&redirect_uri="+url.QueryEscape(callback))
	if q.Get("error") != "unsupported_response_type" || q.Get("state") != "x" {
		t.Errorf("implicit flow: callback query %v", q)
	}
}

func TestUserinfoUnknownToken(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	for _, path := range []string{"/userinfo", "/github/user", "/github/user/emails"} {
		req, _ := http.NewRequest("GET", s.URL+path, nil)
		req.Header.Set("Authorization", "Bearer made-up")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", path, resp.StatusCode)
		}
	}
}

// TestGothAndGoOIDC runs the sign-in the way the oauth package does: goth's
// openidConnect provider from discovery, and go-oidc verifying the ID token.
func TestGothAndGoOIDC(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	p, err := openidConnect.New(s.ClientID, s.ClientSecret, callback, s.DiscoveryURL(), "openid", "email", "profile")
	if err != nil {
		t.Fatal(err)
	}
	kp, err := oidc.NewProvider(t.Context(), s.Issuer())
	if err != nil {
		t.Fatal(err)
	}
	verifier := kp.Verifier(&oidc.Config{ClientID: s.ClientID})

	signIn := func() (*openidConnect.Session, error) {
		sess, err := p.BeginAuth("st4te")
		if err != nil {
			t.Fatal(err)
		}
		authURL, _ := sess.GetAuthURL()
		q := authorize(t, authURL)
		if _, err := sess.Authorize(p, q); err != nil {
			t.Fatal(err) // goth does not check signatures, so this passes either way
		}
		oc := sess.(*openidConnect.Session)
		_, err = verifier.Verify(t.Context(), oc.IDToken)
		return oc, err
	}

	sess, err := signIn()
	if err != nil {
		t.Fatal(err)
	}
	u, err := p.FetchUser(sess)
	if err != nil {
		t.Fatal(err)
	}
	if u.UserID != "1001" || u.Email != "ana@example.com" || u.NickName != "ana" || u.Name != "Ana Lima" || u.RawData["email_verified"] != true {
		t.Fatalf("goth user %+v", u)
	}

	s.SignWithUnknownKey(true)
	if _, err := signIn(); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("go-oidc on an ID token signed with an unknown key: %v, want a signature error", err)
	}
}

func TestGothGitHub(t *testing.T) {
	t.Parallel()
	s := oidctest.New(t)
	s.SetUser(oidctest.User{Subject: "4242", Email: "gh@example.com", EmailVerified: true, Name: "Git Hub", PreferredUsername: "octo"})
	authURL, tokenURL, profileURL, emailURL := s.GitHubURLs()
	p := github.NewCustomisedURL(s.ClientID, s.ClientSecret, "http://agora.test/auth/github/callback",
		authURL, tokenURL, profileURL, emailURL, "read:user", "user:email")
	sess, err := p.BeginAuth("st4te")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := sess.GetAuthURL()
	if _, err := sess.Authorize(p, authorize(t, u)); err != nil {
		t.Fatal(err)
	}
	gu, err := p.FetchUser(sess)
	if err != nil {
		t.Fatal(err)
	}
	if gu.UserID != "4242" || gu.NickName != "octo" || gu.Email != "gh@example.com" || gu.Name != "Git Hub" {
		t.Fatalf("goth github user %+v", gu)
	}

	req, _ := http.NewRequest("GET", emailURL, nil)
	req.Header.Set("Authorization", "token "+gu.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var emails []struct {
		Email             string
		Primary, Verified bool
	}
	if err := json.NewDecoder(resp.Body).Decode(&emails); err != nil || len(emails) != 1 || emails[0].Email != "gh@example.com" || !emails[0].Primary || !emails[0].Verified {
		t.Fatalf("emails %+v, err %v", emails, err)
	}
}
