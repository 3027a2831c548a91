package app_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"agora/app"
	"agora/internal/testdb"
)

// The bad-input sweep: every JSON route of the route table, called by a
// caller the permission matrix lets through, with its valid request from
// the matrix's setups spoilt one way at a time. Each answer must be the
// 4xx the case names (or, where the input is acceptable, what the route
// answers anyway), with the API's error body, and never a 5xx. The inputs
// are listed in docs/permissions.md ("The bad-input sweep").

// sweepCase is one spoilt request: made from a fresh valid one.
type sweepCase struct {
	name  string
	spoil func(r matrixReq) (path, contentType, body string)
	want  []int // the statuses allowed; ok2xx also allows any 2xx
	ok2xx bool
	code  string // the error code, when one is required
}

const (
	bigExp  = "1e400"
	twoTo63 = "9223372036854775808"
)

// sweepCaller picks who calls row in the sweep: the first role the matrix
// lets through (2xx).
func sweepCaller(r matrixRow) string {
	for _, role := range []string{"author", "admin", "moderator", "member", "suspended", "anonymous"} {
		if st := r.want[role].status; st >= 200 && st < 300 {
			return role
		}
	}
	return ""
}

// jsonFields is the valid body's top-level fields, sorted.
func jsonFields(body any) (map[string]any, []string) {
	b, _ := json.Marshal(body)
	var m map[string]any
	json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return m, keys
}

// withField is the valid body with field's value replaced by raw JSON.
func withField(body any, field, raw string) string {
	m, keys := jsonFields(body)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		v, _ := json.Marshal(m[k])
		if k == field {
			v = []byte(raw)
		}
		parts = append(parts, fmt.Sprintf("%q:%s", k, v))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func marshal(body any) string {
	if body == nil {
		return ""
	}
	b, _ := json.Marshal(body)
	return string(b)
}

var (
	bad400      = []int{http.StatusBadRequest}
	refusedAny  = []int{http.StatusBadRequest, http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity}
	notFound    = []int{http.StatusBadRequest, http.StatusNotFound}
	queryValues = []string{bigExp, twoTo63, "-1", "abc", strings.Repeat("x", 3000)} // a longer URL is refused before the app (431)
)

// sweepCases are the spoilt requests for row (served as registered).
func sweepCases(r matrixRow, registered string, valid matrixReq) []sweepCase {
	var cs []sweepCase
	body := func(b string) func(matrixReq) (string, string, string) {
		return func(q matrixReq) (string, string, string) { return q.path, "application/json", b }
	}
	// The path's parameters: ids out of range or not ids at all, and a made-up action.
	docSegs, regSegs := strings.Split(r.path, "/"), strings.Split(registered, "/")
	for i, seg := range docSegs {
		if i >= len(regSegs) || !strings.HasPrefix(regSegs[i], ":") {
			continue
		}
		values := []string{"-1", "0", twoTo63, "99999999999999999999", bigExp, "abc", "%FF%FE", "a%00b"}
		if !strings.HasPrefix(seg, "{") {
			values = []string{"no-such-action"}
		}
		for _, v := range values {
			i, v := i, v
			cs = append(cs, sweepCase{name: fmt.Sprintf("path %s=%s", strings.Trim(regSegs[i], ":"), v), want: notFound,
				spoil: func(q matrixReq) (string, string, string) {
					p, query, _ := strings.Cut(q.path, "?")
					segs := strings.Split(p, "/")
					segs[i] = v
					p = strings.Join(segs, "/")
					if query != "" {
						p += "?" + query
					}
					return p, jsonType(q.body), marshal(q.body)
				}})
		}
	}
	// The query string: invalid UTF-8 and NUL anywhere; for GETs, absurd
	// pages and every existing parameter spoilt.
	addQuery := func(q matrixReq, kv string) string {
		if strings.Contains(q.path, "?") {
			return q.path + "&" + kv
		}
		return q.path + "?" + kv
	}
	cs = append(cs,
		sweepCase{name: "query with invalid UTF-8", want: bad400, spoil: func(q matrixReq) (string, string, string) {
			return addQuery(q, "x=%FF%FE"), jsonType(q.body), marshal(q.body)
		}},
		sweepCase{name: "query with NUL", want: bad400, spoil: func(q matrixReq) (string, string, string) {
			return addQuery(q, "x=a%00b"), jsonType(q.body), marshal(q.body)
		}})
	if r.method == http.MethodGet {
		for _, p := range []string{"page", "per_page"} {
			for _, v := range []string{"999999999999", "9223372036854775807", twoTo63, bigExp, "-1", "0", "abc", "1000000"} {
				p, v := p, v
				cs = append(cs, sweepCase{name: p + "=" + v, want: []int{http.StatusNotFound}, ok2xx: true,
					spoil: func(q matrixReq) (string, string, string) { return addQuery(q, p+"="+v), "", "" }})
			}
		}
		if _, query, ok := strings.Cut(valid.path, "?"); ok {
			for _, kv := range strings.Split(query, "&") {
				k, _, _ := strings.Cut(kv, "=")
				for _, v := range queryValues {
					k, v := k, v
					cs = append(cs, sweepCase{name: fmt.Sprintf("query %s=%.20s", k, v), want: refusedAny, ok2xx: true,
						spoil: func(q matrixReq) (string, string, string) {
							p, _, _ := strings.Cut(q.path, "?")
							return p + "?" + k + "=" + v, "", ""
						}})
				}
			}
		}
		return cs
	}
	// The body. A route that takes fields must refuse what is not its JSON object.
	m, fields := jsonFields(valid.body)
	if len(fields) == 0 {
		// A body the route does not read: garbage is ignored or refused, never a fault.
		for _, b := range []string{`{"a":`, `[1]`, "\xff\xfe", "a\x00b"} {
			cs = append(cs, sweepCase{name: fmt.Sprintf("unread body %q", b), want: refusedAny, ok2xx: true, spoil: body(b)})
		}
		return cs
	}
	for _, b := range []string{`{"a":`, `{`, `nope`, `[1,2]`, `"text"`, `123`, ``, `{"a":1}}`, "{\"a\":\"\xff\"", `{"a":01}`} {
		cs = append(cs, sweepCase{name: fmt.Sprintf("malformed %q", b), want: bad400, code: "bad_json", spoil: body(b)})
	}
	cs = append(cs,
		sweepCase{name: "text/plain", want: []int{http.StatusUnsupportedMediaType}, code: "unsupported_media_type",
			spoil: func(q matrixReq) (string, string, string) { return q.path, "text/plain", marshal(q.body) }},
		sweepCase{name: "broken multipart", want: []int{http.StatusUnsupportedMediaType}, code: "unsupported_media_type",
			spoil: func(q matrixReq) (string, string, string) {
				return q.path, "multipart/form-data; boundary=x", "--x\r\n\r\n"
			}},
		sweepCase{name: "missing fields", want: refusedAny, ok2xx: true, spoil: body(`{}`)},
		sweepCase{name: "null", want: refusedAny, ok2xx: true, spoil: body(`null`)},
	)
	for _, f := range fields {
		f := f
		var wrong []string
		switch m[f].(type) {
		case string:
			wrong = []string{`12345`, `true`, `[]`}
			if f != "reason" { // a moderation reason may be an object too (docs/api.md)
				wrong = append(wrong, `{}`)
			}
		case float64:
			wrong = []string{`"12"`, `true`, `{}`, `[]`}
		case bool:
			wrong = []string{`"yes"`, `1`, `{}`}
		case map[string]any:
			wrong = []string{`5`, `[]`}
		case []any:
			wrong = []string{`{}`, `"x"`, `[5]`}
		}
		for _, v := range wrong {
			v := v
			cs = append(cs, sweepCase{name: fmt.Sprintf("%s as %s", f, v), want: bad400, code: "bad_json", spoil: func(q matrixReq) (string, string, string) {
				return q.path, "application/json", withField(q.body, f, v)
			}})
		}
		switch m[f].(type) {
		case float64:
			for _, v := range []string{bigExp, twoTo63, "-9223372036854775809", "1.5"} {
				v := v
				cs = append(cs, sweepCase{name: fmt.Sprintf("%s=%s", f, v), want: bad400, code: "bad_json", spoil: func(q matrixReq) (string, string, string) {
					return q.path, "application/json", withField(q.body, f, v)
				}})
			}
			for _, v := range []string{"-1", "0"} {
				v := v
				cs = append(cs, sweepCase{name: fmt.Sprintf("%s=%s", f, v), want: refusedAny, ok2xx: true, spoil: func(q matrixReq) (string, string, string) {
					return q.path, "application/json", withField(q.body, f, v)
				}})
			}
		case string:
			// A lone surrogate is valid JSON and decodes to U+FFFD, which any text may hold.
			for _, c := range []struct{ name, raw string }{{"a lone surrogate", `"\ud800"`}, {"100000 characters", `"` + strings.Repeat("é", 100000) + `"`}} {
				c := c
				cs = append(cs, sweepCase{name: f + " " + c.name, want: refusedAny, ok2xx: true, spoil: func(q matrixReq) (string, string, string) {
					return q.path, "application/json", withField(q.body, f, c.raw)
				}})
			}
			for _, c := range []struct{ name, raw string }{{"escaped NUL", `"a\u0000b"`}, {"raw NUL", "\"a\x00b\""}, {"invalid UTF-8", "\"\xff\xfe\xfd\""}} {
				c := c
				cs = append(cs, sweepCase{name: f + " " + c.name, want: bad400, spoil: func(q matrixReq) (string, string, string) {
					return q.path, "application/json", withField(q.body, f, c.raw)
				}})
			}
		}
	}
	return cs
}

func jsonType(body any) string {
	if body == nil {
		return ""
	}
	return "application/json"
}

func TestBadInputSweep(t *testing.T) {
	rows := readMatrix(t)
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		w := newRoleWorld(t, db)
		deps, _ := withSearch(t, db)
		w.a = newApp(t, db, deps, func(d *app.Deps) { d.Config.RateLimit = 1 << 20 })
		base := startServer(t, w.a)
		setups := matrixSetups(t, w)
		served := servedRoutes(w.a)
		client := &http.Client{Timeout: 20 * time.Second}
		big := bytes.Repeat([]byte(" "), 10<<20)
		requests := 0
		for _, r := range rows {
			api := strings.HasPrefix(r.path, "/api/")
			if !api && r.method != http.MethodGet {
				continue // forms: the fuzz targets and the feature tests drive them
			}
			key := r.method + " " + r.path
			i := slices.IndexFunc(served, func(s servedRoute) bool { return s.method == r.method && routeMatches(r.path, s.path) })
			setup := setups[key]
			role := sweepCaller(r)
			if !api && role == "" {
				continue // a page nobody opens here (a mail link, a provider's answer): the feature tests open the real ones
			}
			if i < 0 || setup == nil || role == "" {
				t.Errorf("docs/permissions.md:%d: %s is not served, has no setup or lets nobody through", r.line, key)
				continue
			}
			limited := strings.HasSuffix(r.path, "/export")
			t.Run(key, func(t *testing.T) {
				fresh := func() (matrixReq, *caller) {
					q := setup(t, w, role)
					if q.as == nil && limited {
						q.as = w.fresh(t, role) // exports are limited to 3 a minute per member
					}
					if q.as == nil {
						q.as = w.caller[role]
					}
					return q, q.as
				}
				valid, who := fresh()
				cases := sweepCases(r, served[i].path, valid)
				if !api {
					cases = pageCases(cases, r.path)
				}
				// A refusal changes nothing, so the targets serve the next case
				// too; after a success (a GET, or spoilt input that was still
				// acceptable) a write gets fresh ones.
				q, used := valid, false
				for _, c := range cases {
					if used && r.method != http.MethodGet || limited {
						q, who = fresh()
					}
					path, ctype, body := c.spoil(q)
					requests++
					req := httptest.NewRequest(r.method, path, strings.NewReader(body))
					if ctype != "" {
						req.Header.Set("Content-Type", ctype)
					}
					if who.token != "" {
						req.Header.Set("Authorization", "Bearer "+who.token)
					}
					if !api {
						req = withCookies(req, who.cookie)
					}
					res, got := call(t, w.a, req)
					used = res.StatusCode < 400
					checkSweep(t, c, path, res, got, api)
				}
				if !api {
					return
				}
				// 10 MB over a real connection: 413, and the answer arrives.
				q, who = fresh()
				req, err := http.NewRequest(r.method, base+q.path, bytes.NewReader(big))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				if who.token != "" {
					req.Header.Set("Authorization", "Bearer "+who.token)
				}
				res, err := client.Do(req)
				if err != nil {
					t.Errorf("10 MB body to %s: the connection failed: %v", q.path, err)
					return
				}
				got, _ := io.ReadAll(res.Body)
				res.Body.Close()
				checkSweep(t, sweepCase{name: "10 MB body", want: []int{http.StatusRequestEntityTooLarge}, code: "body_too_large"}, q.path, res, string(got), true)
			})
		}
		t.Logf("%d spoilt requests and a 10 MB body to each JSON route", requests)

		// A URL longer than the server reads for a request head: refused
		// before the app, with an answer, not a reset.
		res, err := client.Get(base + "/api/v1/search?q=" + strings.Repeat("x", 8000))
		if err != nil {
			t.Fatalf("an 8 KB URL: the connection failed: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("an 8 KB URL: %d, want 431", res.StatusCode)
		}
	})
}

// pageCases are the cases a page's GET takes: the query string and the
// path, where the page answers with its own HTML (any status but a 5xx
// that the case allows).
func pageCases(cs []sweepCase, path string) []sweepCase {
	// Served before the NUL check and reading no input: a NUL in their query is not looked at.
	unread := path == "/healthz" || path == "/readyz" || path == "/assets/{file}"
	for i := range cs {
		cs[i].code = ""
		cs[i].ok2xx = cs[i].ok2xx || unread
		cs[i].want = append(slices.Clone(cs[i].want), http.StatusSeeOther, http.StatusMovedPermanently, http.StatusUnprocessableEntity)
	}
	return cs
}

// checkSweep holds one answer to its case: an allowed status, an API error
// body for a 4xx (with the case's code), and no parser text leaking.
func checkSweep(t *testing.T, c sweepCase, path string, res *http.Response, got string, api bool) {
	t.Helper()
	st := res.StatusCode
	// A wrong password where the route asks for one is 401, whatever else is wrong.
	wrongPassword := st == http.StatusUnauthorized && strings.Contains(got, `"invalid_credentials"`) && slices.Contains(c.want, http.StatusUnprocessableEntity)
	if !slices.Contains(c.want, st) && !(c.ok2xx && st >= 200 && st < 300) && !wrongPassword {
		t.Errorf("%s (%.80s): %d, want %v (or 2xx: %v); %.300s", c.name, path, st, c.want, c.ok2xx, got)
		return
	}
	if st < 400 || !api {
		return
	}
	var e sweepError
	if err := json.Unmarshal([]byte(got), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Errorf("%s (%.80s): %d without the API's error body: %.300s", c.name, path, st, got)
		return
	}
	if c.code != "" && e.Error.Code != c.code {
		t.Errorf("%s (%.80s): error code %q, want %q", c.name, path, e.Error.Code, c.code)
	}
	if strings.Contains(got, "json:") || strings.Contains(got, "invalid character") || strings.Contains(got, "strconv.") {
		t.Errorf("%s (%.80s): the parser's message leaks into the answer: %.300s", c.name, path, got)
	}
}

// sweepError is the API's error body.
type sweepError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
