// Package oidctest runs a small OpenID Connect identity provider inside a
// test process, so the "sign in with OAuth 2 / OpenID Connect" code can be
// tested end to end without the network. It speaks the authorization-code
// flow the way real providers do (discovery, JWKS, RS256 ID tokens, single-use
// codes, userinfo), closely enough that goth's openidConnect provider,
// goth's github provider (through github.NewCustomisedURL and GitHubURLs) and
// go-oidc's verifier work against it unchanged.
//
// Consent is automatic: an authorize request is answered at once with a
// redirect carrying a code for the user set by SetUser, so a test's HTTP
// client only has to follow (or read) the redirect.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	// KeyID is the "kid" of the signing key, and also of the unknown key
	// SignWithUnknownKey switches to: a verifier then finds a key under the
	// right name whose signature does not match, which is the case worth
	// testing (a missing kid is a different, easier failure).
	KeyID = "test-key"
	// CodeTTL is how long an authorization code can be exchanged.
	CodeTTL = 60 * time.Second
	// TokenTTL is the lifetime of ID tokens and the advertised lifetime of
	// access tokens.
	TokenTTL = time.Hour
)

// User is who signs in at the provider's next authorize request.
type User struct {
	Subject           string // "sub" claim and GitHub "id" (numeric string for GitHub shape)
	Email             string
	EmailVerified     bool
	Name              string
	PreferredUsername string // "preferred_username" claim and GitHub "login"
}

// DefaultUser is who signs in until SetUser is called.
var DefaultUser = User{Subject: "1001", Email: "ana@example.com", EmailVerified: true, Name: "Ana Lima", PreferredUsername: "ana"}

// Server is a running identity provider with a single registered client.
type Server struct {
	URL          string // base URL of the httptest server, e.g. http://127.0.0.1:PORT
	ClientID     string // "agora-test-client"
	ClientSecret string // "agora-test-secret"

	key *rsa.PrivateKey // published in the JWKS

	mu         sync.Mutex
	user       User
	deny       bool
	unknownKey bool
	rogue      *rsa.PrivateKey   // the unpublished key, made on first use
	codes      map[string]*grant // outstanding authorization codes
	tokens     map[string]User   // access token → who it was issued for
	requests   []string
}

// grant is what an authorization code stands for, fixed when it is issued so
// that a SetUser between authorize and token does not change who signs in.
type grant struct {
	clientID, redirectURI, scope, nonce string
	challenge, challengeMethod          string // PKCE, when the authorize request had one
	user                                User
	expires                             time.Time
}

// New starts a provider with a fresh RSA-2048 signing key; it is closed when
// the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatalf("oidctest: generate key: %v", err)
	}
	s := &Server{
		ClientID:     "agora-test-client",
		ClientSecret: "agora-test-secret",
		key:          key,
		user:         DefaultUser,
		codes:        map[string]*grant{},
		tokens:       map[string]User{},
	}
	srv := httptest.NewServer(s.handler())
	tb.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// SetUser sets who signs in at subsequent authorize requests.
func (s *Server) SetUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.user = u
}

// Deny makes subsequent authorize requests redirect back with
// error=access_denied, as when the user refuses consent.
func (s *Server) Deny(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deny = deny
}

// SignWithUnknownKey makes subsequent ID tokens be signed with a key that is
// not in the JWKS but has the same kid, so signature verification must fail.
func (s *Server) SignWithUnknownKey(b bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.unknownKey = b
}

// ExpireCodes makes every code issued so far expired; codes issued later
// are unaffected.
func (s *Server) ExpireCodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := time.Now().Add(-time.Second)
	for _, g := range s.codes {
		g.expires = past
	}
}

// DiscoveryURL is the OpenID Connect discovery document's URL.
func (s *Server) DiscoveryURL() string { return s.URL + "/.well-known/openid-configuration" }

// Issuer is the "iss" of the ID tokens, which is also what go-oidc's
// oidc.NewProvider wants.
func (s *Server) Issuer() string { return s.URL }

// GitHubURLs are the GitHub-shaped endpoints, in the order
// github.NewCustomisedURL takes them.
func (s *Server) GitHubURLs() (authURL, tokenURL, profileURL, emailURL string) {
	return s.URL + "/github/login/oauth/authorize", s.URL + "/github/login/oauth/access_token",
		s.URL + "/github/user", s.URL + "/github/user/emails"
}

// Requests are the paths requested so far, in order. Note that
// golang.org/x/oauth2 with no Endpoint.AuthStyle retries a failed token
// request once with the other client authentication, so a rejected exchange
// can show up as two "/token" entries.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) { s.token(w, r, true) })
	mux.HandleFunc("/userinfo", s.userinfo) // the spec allows GET and POST
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /logout", s.logout)
	mux.HandleFunc("GET /github/login/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /github/login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) { s.token(w, r, false) })
	mux.HandleFunc("GET /github/user", s.githubUser)
	mux.HandleFunc("GET /github/user/emails", s.githubEmails)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, r.URL.Path)
		s.mu.Unlock()
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                s.Issuer(),
		"authorization_endpoint":                s.URL + "/authorize",
		"token_endpoint":                        s.URL + "/token",
		"userinfo_endpoint":                     s.URL + "/userinfo",
		"jwks_uri":                              s.URL + "/jwks",
		"end_session_endpoint":                  s.URL + "/logout",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"grant_types_supported":                 []string{"authorization_code"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"claims_supported":                      []string{"iss", "sub", "aud", "exp", "iat", "nonce", "email", "email_verified", "name", "preferred_username"},
	})
}

// authorize consents at once. Errors that make the redirect_uri unusable are
// answered here as plain text, as real providers do, because redirecting to
// an unchecked URL would be an open redirect; the rest go back to the client.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != s.ClientID {
		http.Error(w, "oidctest: unknown client_id", http.StatusBadRequest)
		return
	}
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !back.IsAbs() || back.Host == "" {
		http.Error(w, "oidctest: redirect_uri must be an absolute URL", http.StatusBadRequest)
		return
	}
	answer := url.Values{}
	fail := func(code, desc string) { answer.Set("error", code); answer.Set("error_description", desc) }
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && method == "" {
		method = "plain" // RFC 7636's default
	}

	s.mu.Lock()
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only the authorization-code flow is supported")
	case challenge != "" && method != "S256" && method != "plain":
		fail("invalid_request", "code_challenge_method must be S256 or plain")
	case s.deny:
		fail("access_denied", "The user declined to sign in.")
	default:
		code := rand.Text()
		s.codes[code] = &grant{
			clientID: s.ClientID, redirectURI: q.Get("redirect_uri"), scope: q.Get("scope"), nonce: q.Get("nonce"),
			challenge: challenge, challengeMethod: method, user: s.user, expires: time.Now().Add(CodeTTL),
		}
		answer.Set("code", code)
	}
	s.mu.Unlock()

	if state := q.Get("state"); state != "" {
		answer.Set("state", state)
	}
	// Keep whatever query the redirect_uri already had.
	v := back.Query()
	for k, vs := range answer {
		v[k] = vs
	}
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// token exchanges a code. The client is authenticated before the code is
// looked at, so a wrong secret never spends a code; after that, the code is
// spent by the exchange whatever its outcome, as the spec wants codes to be
// one-shot. The answer is always JSON, which is also what goth's github
// provider asks for with Accept: application/json.
func (s *Server) token(w http.ResponseWriter, r *http.Request, withIDToken bool) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "unreadable form")
		return
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		// RFC 6749 §2.3.1 form-encodes both before Basic; x/oauth2 does so.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != s.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.ClientSecret)) != 1 {
		if basic {
			w.Header().Set("WWW-Authenticate", `Basic realm="oidctest"`)
		}
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "only authorization_code is supported")
		return
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	code := r.PostForm.Get("code")
	g := s.codes[code]
	delete(s.codes, code)
	var problem string
	switch {
	case g == nil:
		problem = "unknown or already used code"
	case g.clientID != id:
		problem = "code was issued to another client"
	case time.Now().After(g.expires):
		problem = "code expired"
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		problem = "redirect_uri does not match the authorize request"
	case !pkceOK(g, r.PostForm.Get("code_verifier")):
		problem = "code_verifier does not match code_challenge"
	}
	if problem != "" {
		tokenError(w, http.StatusBadRequest, "invalid_grant", problem)
		return
	}

	access := rand.Text()
	s.tokens[access] = g.user
	answer := map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": int(TokenTTL.Seconds()), "scope": g.scope}
	if withIDToken {
		key := s.key
		if s.unknownKey {
			if s.rogue == nil {
				var err error
				if s.rogue, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
					tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
					return
				}
			}
			key = s.rogue
		}
		now := time.Now()
		claims := userClaims(g.user)
		claims["iss"], claims["aud"] = s.Issuer(), id
		claims["iat"], claims["exp"] = now.Unix(), now.Add(TokenTTL).Unix()
		if g.nonce != "" {
			claims["nonce"] = g.nonce
		}
		idToken, err := sign(key, claims)
		if err != nil {
			tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
		answer["id_token"] = idToken
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, answer)
}

func pkceOK(g *grant, verifier string) bool {
	switch g.challengeMethod {
	case "":
		return true
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		return verifier != "" && b64(sum[:]) == g.challenge
	default: // plain
		return verifier != "" && verifier == g.challenge
	}
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	u, ok := s.bearer(w, r)
	if ok {
		writeJSON(w, http.StatusOK, userClaims(u))
	}
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	pub := s.key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": KeyID, "use": "sig", "alg": "RS256",
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

// logout has nothing to end (there are no provider sessions); it exists so
// the end_session_endpoint in the discovery document leads somewhere.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	back, err := url.Parse(r.URL.Query().Get("post_logout_redirect_uri"))
	if err != nil || !back.IsAbs() {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("signed out\n"))
		return
	}
	if state := r.URL.Query().Get("state"); state != "" {
		v := back.Query()
		v.Set("state", state)
		back.RawQuery = v.Encode()
	}
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (s *Server) githubUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.bearer(w, r)
	if !ok {
		return
	}
	id, _ := strconv.ParseInt(u.Subject, 10, 64) // GitHub ids are numbers; 0 otherwise
	writeJSON(w, http.StatusOK, map[string]any{"id": id, "login": u.PreferredUsername, "name": u.Name, "email": u.Email})
}

func (s *Server) githubEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := s.bearer(w, r)
	if ok {
		writeJSON(w, http.StatusOK, []map[string]any{{"email": u.Email, "primary": true, "verified": u.EmailVerified}})
	}
}

// bearer finds who an access token was issued for, answering 401 when it
// cannot. Both "Bearer X" and GitHub's older "token X" are accepted.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request) (User, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	s.mu.Lock()
	u, ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok || !(strings.EqualFold(scheme, "bearer") || strings.EqualFold(scheme, "token")) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return User{}, false
	}
	return u, true
}

// userClaims are the claims about u shared by the ID token and userinfo.
func userClaims(u User) map[string]any {
	return map[string]any{"sub": u.Subject, "email": u.Email, "email_verified": u.EmailVerified,
		"name": u.Name, "preferred_username": u.PreferredUsername}
}

// sign makes a compact RS256 JWS of claims.
func sign(key *rsa.PrivateKey, claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "kid": KeyID, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := b64(header) + "." + b64(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func tokenError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
