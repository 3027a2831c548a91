package app_test

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
	"agora/models"
)

// fuzzRoute is one write route the fuzzer sends bodies to; path may hold
// {topic}, {post}, {own_topic}, {own_post}, {victim}, {category}, filled in
// from the fuzz world. Staff routes are sent as the admin.
type fuzzRoute struct {
	method, path string
	staff        bool
	seed         string // a valid JSON body (a form's is derived from it)
}

// fuzzRoutes is a representative set: every kind of JSON request struct and
// form the write routes decode (posts, flags, profile, mail preferences,
// watching, moderation, categories, levels, badges, guidelines), through the
// API with a bearer token and through pages with the session and its CSRF token.
var fuzzRoutes = []fuzzRoute{
	{"POST", "/api/v1/topics", false, `{"category_id":{category},"title":"A title long enough","body":"A body that is long enough."}`},
	{"POST", "/api/v1/topics/{topic}/posts", false, `{"body":"A reply that is long enough.","reply_to_post_id":{post}}`},
	{"PATCH", "/api/v1/posts/{own_post}", false, `{"body":"An edited body, long enough.","reason":"typo"}`},
	{"POST", "/api/v1/preview", false, `{"body":"**bold** @victim"}`},
	{"POST", "/api/v1/posts/{post}/flags", false, `{"reason":"spam","note":"ads"}`},
	{"POST", "/api/v1/topics/{own_topic}/solution", false, `{"post_id":{post}}`},
	{"PATCH", "/api/v1/me", false, `{"display_name":"Fuzz","bio":"hi","avatar_color":"blue"}`},
	{"PUT", "/api/v1/me/email", false, `{"replies":true,"mentions":false,"digest":"weekly"}`},
	{"PUT", "/api/v1/topics/{topic}/watch", false, `{"level":"watching"}`},
	{"POST", "/api/v1/mod/queue/{post}/resolve", true, `{"action":"dismiss","reason":{"guideline":"spam","note":"x"},"suspend_days":3,"notify":false}`},
	{"POST", "/api/v1/mod/users/{victim}/suspend", true, `{"days":3,"reason":"spam","notify":false}`},
	{"POST", "/api/v1/mod/users/{victim}/notes", true, `{"body":"a note"}`},
	{"POST", "/api/v1/mod/posts/{post}/edit", true, `{"body":"An edit by staff, long enough.","reason":"cleanup"}`},
	{"POST", "/api/v1/admin/categories", true, `{"name":"Fuzzed","slug":"fuzzed","color":"#112233","position":3,"flag_threshold":4}`},
	{"PATCH", "/api/v1/admin/categories/{category}", true, `{"description":"about","archived":false}`},
	{"PUT", "/api/v1/admin/levels", true, `{"items":[{"level":2,"days_visited":1}]}`},
	{"POST", "/api/v1/admin/badges", true, `{"name":"Fuzz badge","description":"for fuzzing","tier":"bronze","icon":"star"}`},
	{"PUT", "/api/v1/admin/guidelines", true, `{"body":"# Be kind\n\nPlease."}`},
	{"POST", "/new-topic", false, `{"category_id":"{category}","title":"A title long enough","body":"A body that is long enough."}`},
	{"POST", "/t/{topic}/reply", false, `{"body":"A reply that is long enough.","reply_to_post_id":"{post}","page":"1"}`},
	{"POST", "/p/{own_post}/edit", false, `{"body":"An edited body, long enough.","reason":"typo","preview":""}`},
	{"POST", "/p/{post}/flag", false, `{"reason":"spam","note":"ads","next":"/t/{topic}"}`},
	{"POST", "/settings/profile", false, `{"display_name":"Fuzz","bio":"hi","avatar_color":"blue"}`},
	{"POST", "/settings/email", false, `{"replies":"on","digest":"weekly"}`},
	{"POST", "/t/{topic}/watch", false, `{"level":"muted","next":"/t/{topic}"}`},
	{"POST", "/mod/queue/{post}/resolve", true, `{"action":"dismiss","reason_code":"spam","reason":"x","suspend_days":"3","back":"/mod"}`},
	{"POST", "/mod/users/{victim}/suspend", true, `{"days":"3","reason_code":"spam","reason":"x","notify":""}`},
	{"POST", "/admin/categories", true, `{"name":"Fuzzed form","slug":"fuzzed-form","color":"#112233","position":"4","flag_threshold":"3"}`},
	{"POST", "/admin/levels", true, `{"days_visited_2":"1","posts_read_2":"x"}`},
	{"POST", "/admin/badges", true, `{"name":"Form badge","description":"d","tier":"gold","icon":"star"}`},
}

// Body encodings the fuzzer picks from.
const (
	fuzzJSON = iota
	fuzzForm
	fuzzMultipart
	fuzzKinds
)

const fuzzBoundary = "fuzzboundary"

// fuzzWorld is an app served on loopback (app.Test reports a body fasthttp
// cannot parse as its own error, where a client gets a 400), with the
// members and posts the routes refer to.
type fuzzWorld struct {
	base   string
	client *http.Client
	vars   *strings.Replacer
	member *tpUser
	admin  *tpUser
	tokens map[bool]string // bearer token by staff
}

func newFuzzWorld(tb testing.TB, db *bun.DB) *fuzzWorld {
	tb.Helper()
	// No API rate limit: the fuzzer is one client sending thousands of requests.
	a := newApp(tb, db, func(d *app.Deps) { d.Config.RateLimit = 1 << 30 })
	member := mustTPUser(tb, db, "fuzzer", models.RoleMember)
	admin := mustTPUser(tb, db, "fuzzadmin", models.RoleAdmin)
	victim := mustTPUser(tb, db, "victim", models.RoleMember)
	// Level 2: free of the new-member limits, so bodies reach the decoders.
	if _, err := db.NewUpdate().Model((*models.User)(nil)).Set("level = 2").Where("id = ?", member.ID).Exec(tb.Context()); err != nil {
		tb.Fatal(err)
	}
	cat := mustTPCategory(tb, db, "General", "general")
	topic := mustTPTopic(tb, db, victim, cat, "A topic to answer", "The victim's question, long enough.")
	post := mustModReply(tb, db, victim, topic.ID, "The victim's reply, long enough.")
	own := mustTPTopic(tb, db, member, cat, "The fuzzer's own topic", "The fuzzer's question, long enough.")
	ownPost := mustModReply(tb, db, member, own.ID, "The fuzzer's own reply, long enough.")
	_, memberToken := mustAPILogin(tb, a, "fuzzer")
	_, adminToken := mustAPILogin(tb, a, "fuzzadmin")
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	// A hung handler fails the input instead of stalling the fuzzer; a
	// redirect is an answer, not followed.
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &fuzzWorld{base: startServer(tb, a), client: client, member: member, admin: admin, tokens: map[bool]string{false: memberToken, true: adminToken},
		vars: strings.NewReplacer("{topic}", id(topic.ID), "{post}", id(post.ID), "{own_topic}", id(own.ID),
			"{own_post}", id(ownPost.ID), "{victim}", id(victim.ID), "{category}", id(cat.ID))}
}

// request builds route r's request with body sent as kind, signed in as the
// member (or the admin for staff routes): a bearer token for the API, the
// session cookie and its CSRF token for pages.
func (w *fuzzWorld) request(r fuzzRoute, kind int, body []byte) *http.Request {
	req, err := http.NewRequest(r.method, w.base+w.vars.Replace(r.path), bytes.NewReader(body))
	if err != nil {
		panic(err) // the routes' paths are fixed
	}
	switch kind {
	case fuzzJSON:
		req.Header.Set("Content-Type", "application/json")
	case fuzzForm:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case fuzzMultipart:
		req.Header.Set("Content-Type", "multipart/form-data; boundary="+fuzzBoundary)
	}
	if strings.HasPrefix(r.path, "/api/") {
		req.Header.Set("Authorization", "Bearer "+w.tokens[r.staff])
		return req
	}
	u := w.member
	if r.staff {
		u = w.admin
	}
	req.AddCookie(u.cookie)
	req.Header.Set("X-CSRF-Token", u.csrf)
	return req
}

// fuzzing reports whether the test binary runs a fuzz target (-test.fuzz)
// rather than only its seed corpus.
func fuzzing() bool {
	fl := flag.Lookup("test.fuzz")
	return fl != nil && fl.Value.String() != ""
}

// FuzzWriteRoutes sends arbitrary JSON, urlencoded and multipart bodies to
// fuzzRoutes as a signed-in member or admin: the answer is never a 5xx, and
// the app neither panics (that would end the test binary) nor hangs. The
// world is built once: while fuzzing on SQLite (fast; AGORA_FUZZ_DATABASES=
// sqlite,postgres for both), and on every database when `go test` runs the
// seed corpus, since PostgreSQL refuses text SQLite takes (NUL, invalid UTF-8).
func FuzzWriteRoutes(f *testing.F) {
	kinds := testdb.Kinds
	if fuzzing() {
		kinds = strings.Split(cmp.Or(os.Getenv("AGORA_FUZZ_DATABASES"), "sqlite"), ",")
	}
	var worlds []*fuzzWorld
	for _, kind := range kinds {
		worlds = append(worlds, newFuzzWorld(f, testdb.Open(f, kind)))
	}
	for i, r := range fuzzRoutes {
		route := uint8(i)
		// Fresh databases number rows alike, so the first world's ids fit all.
		js := worlds[0].vars.Replace(r.seed)
		f.Add(route, uint8(fuzzJSON), []byte(js))
		f.Add(route, uint8(fuzzForm), []byte(formBody(js)))
		f.Add(route, uint8(fuzzMultipart), []byte(multipartBody(js)))
	}
	hostile := []struct {
		kind int
		body string
	}{
		{fuzzJSON, strings.Repeat(`{"body":`, 5000) + `1` + strings.Repeat(`}`, 5000)},
		{fuzzJSON, `{"category_id":1e400,"post_id":-9223372036854775809,"days":99999999999999999999,"reply_to_post_id":1.5}`},
		{fuzzJSON, `{"body":"` + "\xff\xfe" + ` invalid","title":"\ud800 lone surrogate","reason":{"guideline":[]}}`},
		{fuzzJSON, `{"body":"nul \u0000 inside"}`},
		{fuzzJSON, `{"body":"` + strings.Repeat("x", 60000) + `"}`},
		{fuzzJSON, `{"body":"a"} trailing`}, {fuzzJSON, `[]`}, {fuzzJSON, `null`}, {fuzzJSON, `"string"`}, {fuzzJSON, ``},
		{fuzzForm, "body=%FF%FE&title=%C0%AF&category_id=1&days=-1&suspend_days=99999999999999999999"},
		{fuzzForm, "body=a%00b"}, {fuzzForm, "body&&==&%&%zz&title=" + strings.Repeat("t", 300)},
		{fuzzForm, "reason_code=&reason[]=x&level=9223372036854775808"},
		{fuzzMultipart, "--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n\xff\xfe" + strings.Repeat("b", 100) + "\r\n--" + fuzzBoundary + "--\r\n"},
		{fuzzMultipart, "--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"body\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nfile\r\n--" + fuzzBoundary},
		{fuzzMultipart, "--" + fuzzBoundary + "\r\n\r\n\r\n--" + fuzzBoundary + "--"},
	}
	// Each hostile body goes to five routes spread over API and pages (every
	// route would make the fuzzer's start, which replays all seeds, too slow
	// for a 20 s run); the fuzzer moves bodies between routes itself.
	for j, h := range hostile {
		for k := range 5 {
			f.Add(uint8((j+k*len(fuzzRoutes)/5)%len(fuzzRoutes)), uint8(h.kind), []byte(h.body))
		}
	}

	f.Fuzz(func(t *testing.T, route, kind uint8, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		for i, w := range worlds {
			req := w.request(r, int(kind)%fuzzKinds, body)
			res, err := w.client.Do(req)
			if err != nil {
				t.Fatalf("%s: %s %s (%d-byte body): %v", kinds[i], req.Method, req.URL, len(body), err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode >= 500 {
				t.Fatalf("%s: %s %s as %s with %q: status %d", kinds[i], req.Method, req.URL, req.Header.Get("Content-Type"), body, res.StatusCode)
			}
		}
	})
}

// formBody writes a JSON object's fields as a urlencoded form.
func formBody(js string) string {
	var parts []string
	for k, v := range formFields(js) {
		parts = append(parts, urlEncode(k)+"="+urlEncode(v))
	}
	return strings.Join(parts, "&")
}

// multipartBody writes a JSON object's fields as multipart/form-data.
func multipartBody(js string) string {
	var b strings.Builder
	for k, v := range formFields(js) {
		fmt.Fprintf(&b, "--%s\r\nContent-Disposition: form-data; name=%q\r\n\r\n%s\r\n", fuzzBoundary, k, v)
	}
	b.WriteString("--" + fuzzBoundary + "--\r\n")
	return b.String()
}

// formFields is a JSON object's fields as form values: strings as they are,
// anything else as its JSON.
func formFields(js string) map[string]string {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		panic(fmt.Sprintf("seed %s: %v", js, err))
	}
	out := make(map[string]string, len(m))
	for k, raw := range m {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			s = string(raw)
		}
		out[k] = s
	}
	return out
}

// TestSearchQuoteInWord: a phrase opened after a quote inside a word panicked
// the query parser, and with it the whole server (found for FuzzParse). Now
// both search routes answer 422 and the server goes on serving.
func TestSearchQuoteInWord(t *testing.T) {
	t.Parallel()
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		deps, _ := withSearch(t, db)
		a := newApp(t, db, deps)
		for _, path := range []string{"/search?q=", "/api/v1/search?q="} {
			res, body := getPage(t, a, path+url.QueryEscape(`a"b "c`))
			tpWantStatus(t, res, body, http.StatusUnprocessableEntity)
			tpWantContains(t, body, "quotation mark is not closed")
		}
	})
}
