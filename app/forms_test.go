package app_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"agora/internal/testdb"
)

func TestHTMLRegisterErrors(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ck, token := anonCSRF(t, a, "/register")
		const typedPassword = "short-pw1" // 9 characters: too short
		res, body := call(t, a, formReq("/register", map[string]string{
			"_csrf": token, "username": "carol", "email": "carol@example.com", "password": typedPassword,
		}, ck))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422", res.StatusCode)
		}
		if !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("Content-Type = %q, want text/html", res.Header.Get("Content-Type"))
		}
		wants := []struct{ name, text string }{
			{"password error next to its field", `<p class="field-error">use at least 10 characters</p>`},
			{"age error next to its field", `<p class="field-error">you must be 16 or older to join</p>`},
			{"summary", "Please fix the highlighted fields."},
			{"username kept", `value="carol"`},
			{"email kept", `value="carol@example.com"`},
			{"fresh CSRF field", `name="_csrf" value="` + token + `"`},
		}
		for _, w := range wants {
			if !strings.Contains(body, w.text) {
				t.Errorf("%s: page lacks %q", w.name, w.text)
			}
		}
		if strings.Contains(body, typedPassword) {
			t.Error("the page echoes the typed password")
		}
		if regexp.MustCompile(`<div class="field has-error">\s*<label for="username">`).MatchString(body) {
			t.Error("the valid username field is marked as an error")
		}
		if !regexp.MustCompile(`<div class="field has-error">\s*<label for="password">`).MatchString(body) {
			t.Error("the password field is not marked as an error")
		}
		if n := rowCount(t, db, "users"); n != 0 {
			t.Errorf("users = %d, want 0", n)
		}

		// What was typed comes back escaped, never as markup.
		res, body = call(t, a, formReq("/register", map[string]string{
			"_csrf": token, "username": `"><script>alert(1)</script>`, "email": `x"onmouseover="alert(1)`, "password": "p",
		}, ck))
		if res.StatusCode != http.StatusUnprocessableEntity {
			t.Fatalf("status = %d, want 422", res.StatusCode)
		}
		if strings.Contains(body, "<script>alert(1)") || strings.Contains(body, `"onmouseover="`) {
			t.Errorf("typed input is reflected unescaped:\n%s", body)
		}
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Error("typed username is not shown (escaped) in its input")
		}
	})
}

func TestHTMLRegisterDuplicate(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "dave", "dave@example.com")
		ck, token := anonCSRF(t, a, "/register")
		tests := []struct {
			name, username, email, message string
		}{
			{"username", "DAVE", "other@example.com", "that username is taken"},
			{"email", "david", "Dave@Example.com", "an account with that email already exists"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, body := call(t, a, formReq("/register", map[string]string{
					"_csrf": token, "username": tt.username, "email": tt.email, "password": memberPassword, "age_confirmed": "on",
				}, ck))
				if res.StatusCode != http.StatusConflict {
					t.Fatalf("status = %d, want 409", res.StatusCode)
				}
				if !strings.Contains(body, `<p class="field-error">`+tt.message+`</p>`) {
					t.Errorf("page lacks the message %q next to the field", tt.message)
				}
				if !strings.Contains(body, `value="`+tt.username+`"`) || !strings.Contains(body, `value="`+tt.email+`"`) {
					t.Error("page does not keep the typed username and email")
				}
				if !strings.Contains(body, `name="age_confirmed" type="checkbox" checked`) {
					t.Error("page does not keep the age box ticked")
				}
				if strings.Contains(body, memberPassword) {
					t.Error("the page echoes the typed password")
				}
			})
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
	})
}

func TestHTMLRegisterSuccess(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		ck, token := anonCSRF(t, a, "/register")
		res, _ := call(t, a, formReq("/register", map[string]string{
			"_csrf": token, "username": "ellen", "email": "ellen@example.com", "password": memberPassword, "age_confirmed": "on",
		}, ck))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
			t.Fatalf("status = %d to %q, want 303 to /", res.StatusCode, res.Header.Get("Location"))
		}
		session := cookieNamed(res, "agora_session")
		if session == nil || session.Value == "" || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
			t.Fatalf("session cookie = %+v, want an HttpOnly SameSite=Lax session", session)
		}
		_, body := getPage(t, a, "/", session)
		if !strings.Contains(body, `<span class="user-name">ellen</span>`) {
			t.Error("home page after registering does not show the member signed in")
		}
		if n := rowCount(t, db, "users"); n != 1 {
			t.Errorf("users = %d, want 1", n)
		}
		// Signed in, the register and login pages send the member on.
		for _, path := range []string{"/register", "/login"} {
			res, _ := getPage(t, a, path, session)
			if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
				t.Errorf("GET %s signed in = %d to %q, want 303 to /", path, res.StatusCode, res.Header.Get("Location"))
			}
		}
	})
}

func TestHTMLLogin(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "fred", "fred@example.com")
		ck, token := anonCSRF(t, a, "/login")

		const wrong = "not-the-right-password"
		fails := []struct{ name, login string }{
			{"wrong password", "fred"},
			{"unknown account", "nobody"},
		}
		var messages []string
		for _, f := range fails {
			res, body := call(t, a, formReq("/login", map[string]string{"_csrf": token, "login": f.login, "password": wrong}, ck))
			if res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("%s: status = %d, want 401", f.name, res.StatusCode)
			}
			const generic = "That username or email and password don&#39;t match."
			if !strings.Contains(body, generic) {
				t.Errorf("%s: page lacks the generic message %q", f.name, generic)
			}
			if !strings.Contains(body, `value="`+f.login+`"`) {
				t.Errorf("%s: the login %q is not kept in its input", f.name, f.login)
			}
			if strings.Contains(body, wrong) {
				t.Errorf("%s: the page echoes the password", f.name)
			}
			if c := cookieNamed(res, "agora_session"); c != nil && c.Value != "" {
				t.Errorf("%s: a session cookie was set", f.name)
			}
			alert := regexp.MustCompile(`<div class="alert[^>]*>[^<]*</div>`).FindString(body)
			messages = append(messages, alert)
		}
		if messages[0] == "" || messages[0] != messages[1] {
			t.Errorf("wrong password and unknown account answer differently:\n%s\n%s", messages[0], messages[1])
		}

		res, body := call(t, a, formReq("/login", map[string]string{"_csrf": token, "login": "", "password": ""}, ck))
		if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "enter your username or email") {
			t.Errorf("empty form: status = %d, want 422 with field errors", res.StatusCode)
		}

		res, _ = call(t, a, formReq("/login", map[string]string{"_csrf": token, "login": "FRED@example.com", "password": memberPassword, "next": "/u/fred"}, ck))
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/u/fred" {
			t.Errorf("sign-in with next=/u/fred = %d to %q, want 303 to /u/fred", res.StatusCode, res.Header.Get("Location"))
		}
		if c := cookieNamed(res, "agora_session"); c == nil || c.Value == "" {
			t.Error("sign-in set no session cookie")
		}
	})
}

// TestLoginNextStaysLocal: ?next= and the form's next field only ever
// redirect to a path on this site.
func TestLoginNextStaysLocal(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		mustAPIRegister(t, a, "gwen", "gwen@example.com")
		session, _ := mustAPILogin(t, a, "gwen")
		ck, token := anonCSRF(t, a, "/login")
		tests := []struct{ next, want string }{
			{"/u/gwen", "/u/gwen"},
			{"/t/1/hello?page=2", "/t/1/hello?page=2"},
			{"", "/"},
			{"//evil.com", "/"},
			{"//evil.com/path", "/"},
			{`/\evil.com`, "/"},
			{"https://evil.com", "/"},
			{"http:/evil.com", "/"},
			{"javascript:alert(1)", "/"},
			{"evil.com", "/"},
			{"/\t/evil.com", "/"}, // browsers drop tabs and newlines: "/\t/x" is "//x"
			{"/\n/evil.com", "/"},
			{"/\r\n/evil.com", "/"},
			{"/\r\nSet-Cookie: agora_session=planted", "/"}, // header injection: session fixation
		}
		for _, tt := range tests {
			t.Run(url.QueryEscape(tt.next), func(t *testing.T) {
				// Already signed in: GET /login?next=… redirects at once.
				req := withCookies(httptest.NewRequest(http.MethodGet, "/login?next="+url.QueryEscape(tt.next), nil), session)
				res, err := a.Test(req, -1)
				if err != nil {
					t.Fatalf("GET /login?next=%q: the response does not parse (%v): next reached a header unchecked", tt.next, err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusSeeOther {
					t.Fatalf("GET /login signed in = %d, want 303", res.StatusCode)
				}
				if got := res.Header.Get("Location"); got != tt.want {
					t.Errorf("GET /login?next=%q redirects to %q, want %q", tt.next, got, tt.want)
				}
				if ck := cookieNamed(res, "agora_session"); ck != nil {
					t.Errorf("GET /login?next=%q set the cookie %s=%s: header injection", tt.next, ck.Name, ck.Value)
				}
			})
		}
		// The form's next field goes through the same check.
		res, _ := call(t, a, formReq("/login", map[string]string{"_csrf": token, "login": "gwen", "password": memberPassword, "next": "//evil.com"}, ck))
		if got := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || got != "/" {
			t.Errorf("POST /login next=//evil.com = %d to %q, want 303 to /", res.StatusCode, got)
		}
		// The login page carries next into its form.
		_, body := getPage(t, a, "/login?next=%2Fu%2Fgwen")
		if !strings.Contains(body, `name="next" value="/u/gwen"`) {
			t.Error("login page does not carry next into its form")
		}
	})
}
