package app_test

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"
	nethtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"agora/app"
	"agora/forum"
	"agora/internal/browser"
	"agora/internal/testdb"
	"agora/internal/xsscorpus"
	"agora/markup"
	"agora/policy"
)

// The browser XSS suite: every vector of internal/xsscorpus is posted by a
// level-1 member through the JSON API and shown in Chromium on the topic
// page, in the composer's live preview and in the moderator's edit view,
// with the CSP in report-only mode so the sanitizer alone stands in the way.
// docs/xss.md describes it.

// xssHook runs in every frame before any page script (page.
// AddScriptToEvaluateOnNewDocument): the dialog functions and window.open
// record a hit instead of acting, and so does every CSP violation (in
// report-only mode one means inline script ran). A frame writes into the top
// window's record when it can reach it.
//
//go:embed testdata/xss/hook.js
var xssHook string

// xssInspect waits for the page to settle, then walks each post body of the
// selectors given, dispatching every event type an element supports on each
// element and noting which vector's region (the text after its XSSMARK
// paragraph) was being exercised when a hit came in.
//
//go:embed testdata/xss/inspect.js
var xssInspect string

const (
	xssEnd      = "XSSEND"
	xssBatchMax = 24 // vectors in one post
)

var xssMarkRE = regexp.MustCompile(`^XSSMARK(\d+)$`)

func xssMark(i int) string { return fmt.Sprintf("XSSMARK%04d", i) }

// xssBody is a post of the vectors idx: each after its own marker
// paragraph, then an end marker that shows nothing before it swallowed the
// rest of the post.
func xssBody(vs []xsscorpus.Vector, idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		fmt.Fprintf(&b, "%s\n\n%s\n\n", xssMark(i), vs[i].Text)
	}
	b.WriteString(xssEnd)
	return b.String()
}

// xssIntact reports whether the rendered post shows every marker of idx
// (and the end marker, when end) as text of its own, outside links and
// code, in order: no vector swallowed the next one.
func xssIntact(h string, idx []int, end bool) bool {
	nodes, err := nethtml.ParseFragment(strings.NewReader(h), &nethtml.Node{Type: nethtml.ElementNode, Data: "div", DataAtom: atom.Div})
	if err != nil {
		return false
	}
	var got []string
	var walk func(n *nethtml.Node, hidden bool)
	walk = func(n *nethtml.Node, hidden bool) {
		if n.Type == nethtml.ElementNode && (n.DataAtom == atom.A || n.DataAtom == atom.Code || n.DataAtom == atom.Pre) {
			hidden = true
		}
		if t := strings.TrimSpace(n.Data); n.Type == nethtml.TextNode && !hidden && (t == xssEnd || xssMarkRE.MatchString(t)) {
			got = append(got, t)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, hidden)
		}
	}
	for _, n := range nodes {
		walk(n, false)
	}
	want := make([]string, 0, len(idx)+1)
	for _, i := range idx {
		want = append(want, xssMark(i))
	}
	if end {
		want = append(want, xssEnd)
	}
	return slices.Equal(got, want)
}

// xssLevel1 reports whether a level-1 member may post html (policy.PostMedia).
func xssLevel1(h string) bool {
	m := markup.Census(h)
	return m.Images == 0 && m.Embeds == 0 && m.Links <= policy.NewMemberLinks
}

// xssBatch is one post of the suite.
type xssBatch struct {
	idx    []int
	body   string
	media  bool   // more links, images or embeds than level 1 may post
	post   int64  // the post's id
	number int    // its number in the topic (the page's #post-N)
	url    string // the topic page
}

// xssPack cuts the corpus into posts of at most xssBatchMax vectors, keeping
// each post intact (every marker shown) and, where the vectors allow, within
// what a level-1 member may post. A vector that swallows what follows it
// ends its post.
func xssPack(vs []xsscorpus.Vector) []*xssBatch {
	var out []*xssBatch
	open := map[bool]*xssBatch{}
	closeBatch := func(media bool) {
		if b := open[media]; b != nil {
			out = append(out, b)
			delete(open, media)
		}
	}
	for i := range vs {
		alone := markup.Render(xssBody(vs, []int{i}))
		media := !xssLevel1(alone)
		// A vector that swallows what follows it can only end a post.
		swallows := !xssIntact(alone, []int{i}, true)
		if b := open[media]; b != nil {
			cand := append(slices.Clone(b.idx), i)
			body := xssBody(vs, cand)
			h := markup.Render(body)
			if len(cand) <= xssBatchMax && len(body) < forum.BodyMax/2 && xssIntact(h, cand, !swallows) && (media || xssLevel1(h)) {
				b.idx, b.body = cand, body
				if swallows {
					closeBatch(media)
				}
				continue
			}
			closeBatch(media)
		}
		open[media] = &xssBatch{idx: []int{i}, body: xssBody(vs, []int{i}), media: media}
		if swallows {
			closeBatch(media)
		}
	}
	closeBatch(false)
	closeBatch(true)
	return out
}

// xssPoster posts batches as one member, ten posts to a topic so that a
// topic page shows them all, and a level-1 member's ten are within the
// first day's allowance (policy.NewMemberTopics, NewMemberReplies).
type xssPoster struct {
	t       *testing.T
	db      *bun.DB
	a       *fiber.App
	cat     int64
	level1  bool
	name    string
	token   string
	n       int // members registered
	topic   int64
	url     string
	posts   int // in the current topic
	members []string
}

func (p *xssPoster) post(b *xssBatch) {
	t := p.t
	t.Helper()
	if p.token == "" || p.posts == 10 {
		if p.token == "" || p.level1 {
			p.n++
			p.name = fmt.Sprintf("xss%s%d", map[bool]string{true: "new", false: "vet"}[p.level1], p.n)
			p.token = mustAPIRegister(t, p.a, p.name, p.name+"@example.com")
			p.members = append(p.members, p.name)
			if !p.level1 {
				establish(t, p.db, p.name)
			}
		}
		p.topic, p.posts = 0, 0
	}
	var res *http.Response
	var body string
	if p.topic == 0 {
		res, body = call(t, p.a, jsonReq(http.MethodPost, "/api/v1/topics", map[string]any{
			"category_id": p.cat, "title": fmt.Sprintf("XSS batch by %s", p.name), "body": b.body}, p.token))
	} else {
		res, body = call(t, p.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", p.topic),
			map[string]any{"body": b.body}, p.token))
	}
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("%s posting vectors %v: status %d: %s", p.name, b.idx, res.StatusCode, body)
	}
	var out struct {
		Topic struct {
			ID  int64  `json:"id"`
			URL string `json:"url"`
		} `json:"topic"`
		Post struct {
			ID     int64 `json:"id"`
			Number int   `json:"post_number"`
		} `json:"post"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	if p.topic == 0 {
		p.topic, p.url = out.Topic.ID, out.Topic.URL
		out.Post.Number = 1
	}
	p.posts++
	b.post, b.number, b.url = out.Post.ID, out.Post.Number, p.url
}

// xssWatch records, for one browser tab, what the page script cannot see:
// dialogs (dismissed at once), navigations and windows it asked for, new
// targets it opened; and it keeps the tab on 127.0.0.1, failing every
// request elsewhere (the https images and embeds that survive).
type xssWatch struct {
	mu    sync.Mutex
	hits  []string
	armed bool // navigations count only while a view is inspected
}

func (w *xssWatch) add(s string) {
	w.mu.Lock()
	w.hits = append(w.hits, s)
	w.mu.Unlock()
}

// take returns and clears the hits recorded since the last take.
func (w *xssWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.hits
	w.hits = nil
	return h
}

func (w *xssWatch) arm(on bool) {
	w.mu.Lock()
	w.armed = on
	w.mu.Unlock()
}

func newXSSWatch(t *testing.T, ctx context.Context, base string) *xssWatch {
	t.Helper()
	own, _ := url.Parse(base)
	w := &xssWatch{}
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: xssHook}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		t.Fatal(err)
	}
	me := chromedp.FromContext(ctx).Target.TargetID
	if err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			w.add(fmt.Sprintf("dialog %s: %s", e.Type, e.Message))
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		case *page.EventFrameRequestedNavigation:
			w.mu.Lock()
			armed := w.armed
			w.mu.Unlock()
			if armed {
				w.add("navigation to " + e.URL)
			}
		case *page.EventWindowOpen:
			w.add("window.open " + e.URL)
		case *fetch.EventRequestPaused:
			go func() {
				u, err := url.Parse(e.Request.URL)
				if err == nil && u.Host == own.Host && u.Path == "/xss-stay" {
					// A navigation target answering 204 keeps the page (the control's navigation).
					chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: e.RequestID, ResponseCode: http.StatusNoContent})
					return
				}
				if err == nil && u.Host == own.Host {
					chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: e.RequestID})
					return
				}
				chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: e.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
			}()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, target.SetDiscoverTargets, target.SetDiscoverTargetsParams{Discover: true}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.ListenBrowser(ctx, func(ev any) {
		if e, ok := ev.(*target.EventTargetCreated); ok && e.TargetInfo.OpenerID == me {
			w.add("new target " + e.TargetInfo.URL)
		}
	}); err != nil {
		t.Fatal(err)
	}
	return w
}

// xssReport is what inspect.js returns.
type xssReport struct {
	Load     []string            `json:"load"`    // hits before any event was dispatched
	Regions  map[string][]string `json:"regions"` // marker number → hits while its elements were exercised
	Late     []string            `json:"late"`    // hits after the walk
	Elements int                 `json:"elements"`
	Marks    []string            `json:"marks"`
	Missing  []string            `json:"missing"` // selectors not on the page
}

// inspect runs inspect.js over the post bodies roots on the loaded page, with
// the watch armed, and folds the watch's hits into the report's late ones.
func (w *xssWatch) inspect(t *testing.T, ctx context.Context, roots []string) xssReport {
	t.Helper()
	sel, _ := json.Marshal(roots)
	if roots == nil {
		sel = []byte("[]")
	}
	w.arm(true)
	r, err := chromedp.Run(ctx, chromedp.Evaluate[xssReport]("("+xssInspect+")("+string(sel)+")", chromedp.EvalAwaitPromise))
	w.arm(false)
	if err != nil {
		t.Fatalf("inspect %v: %v (seen meanwhile: %v)", roots, err, w.take())
	}
	r.Late = append(r.Late, w.take()...)
	return r
}

// xssSuite is one run of the corpus against one server.
type xssSuite struct {
	t       *testing.T
	db      *bun.DB
	a       *fiber.App
	base    string
	vs      []xsscorpus.Vector
	batches []*xssBatch
	mod     string // the moderator's username
	member  string // a level-1 member who previews
	// failures by view and vector, for the summary.
	failed map[string][]string
}

// view names a page the vectors are shown on, for messages.
const (
	viewTopic   = "topic page"
	viewPreview = "live preview"
	viewEdit    = "moderator's edit view"
)

// check reports the hits of r for the batches shown: hits in a vector's
// region name it; hits at load or after the walk are pinned down by showing
// each vector of the batches alone (isolate).
func (s *xssSuite) check(view string, r xssReport, batches []*xssBatch, isolate func(i int) []string) {
	t := s.t
	t.Helper()
	if len(r.Missing) > 0 {
		t.Fatalf("%s: no post body at %v", view, r.Missing)
	}
	want := 0
	for _, b := range batches {
		want += len(b.idx)
	}
	if len(r.Marks) != want || r.Elements < want {
		t.Fatalf("%s: walked %d markers and %d elements for %d vectors: the page does not show the posts", view, len(r.Marks), r.Elements, want)
	}
	for mark, hits := range r.Regions {
		var i int
		if _, err := fmt.Sscan(mark, &i); err != nil || mark == "" {
			s.fail(view, "before the first marker", hits)
			continue
		}
		s.fail(view, s.vs[i].String(), hits)
	}
	hits := append(r.Load, r.Late...)
	if len(r.Regions) > 0 && !slices.ContainsFunc(hits, func(h string) bool { return !strings.HasPrefix(h, "csp ") }) {
		return // the CSP's reports, which come late, of what a region already named
	}
	if len(hits) > 0 {
		found := false
		for _, b := range batches {
			for _, i := range b.idx {
				if h := isolate(i); len(h) > 0 {
					s.fail(view, s.vs[i].String(), h)
					found = true
				}
			}
		}
		if !found {
			s.fail(view, fmt.Sprintf("the posts %v together (no vector alone)", batchIdx(batches)), hits)
		}
	}
}

func batchIdx(bs []*xssBatch) [][]int {
	out := make([][]int, len(bs))
	for i, b := range bs {
		out[i] = b.idx
	}
	return out
}

func (s *xssSuite) fail(view, what string, hits []string) {
	s.t.Helper()
	s.t.Errorf("XSS on the %s: %s: %q", view, what, hits)
	if !slices.Contains(s.failed[view], what) { // a vector found in its region and again alone counts once
		s.failed[view] = append(s.failed[view], what)
	}
}

// tab opens a browser tab, signed in as username when not empty, with a watch.
func (s *xssSuite) tab(username string) (context.Context, *xssWatch) {
	ctx := browser.New(s.t)
	w := newXSSWatch(s.t, ctx, s.base)
	if username != "" {
		browserSignIn(s.t, ctx, s.base, username)
	}
	w.take()
	return ctx, w
}

func (s *xssSuite) navigate(ctx context.Context, path string) {
	s.t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(s.base+path), chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
		s.t.Fatalf("open %s: %v", path, err)
	}
}

// spare opens, on first use, another tab signed in as username at path:
// pinning hits down must not spend the budget of the tab that found them.
func (s *xssSuite) spare(username, path string) func() (context.Context, *xssWatch) {
	var ctx context.Context
	var w *xssWatch
	return func() (context.Context, *xssWatch) {
		if ctx == nil {
			ctx, w = s.tab(username)
			if path != "" {
				s.navigate(ctx, path)
			}
		}
		return ctx, w
	}
}

// topicPages shows each topic's page once, as the moderator, and inspects
// every post on it.
func (s *xssSuite) topicPages() {
	ctx, w := s.tab(s.mod)
	spare := s.spare(s.mod, "")
	byURL := map[string][]*xssBatch{}
	var urls []string
	for _, b := range s.batches {
		if byURL[b.url] == nil {
			urls = append(urls, b.url)
		}
		byURL[b.url] = append(byURL[b.url], b)
	}
	for n, u := range urls {
		s.navigate(ctx, u)
		if n == 0 {
			browser.Screenshot(s.t, ctx, "xss-topic")
		}
		var roots []string
		for _, b := range byURL[u] {
			roots = append(roots, fmt.Sprintf("#post-%d .post-body", b.number))
		}
		r := w.inspect(s.t, ctx, roots)
		s.check(viewTopic, r, byURL[u], func(i int) []string {
			ctx, w := spare()
			b := s.alone(i)
			s.navigate(ctx, b.url)
			return xssAllHits(w.inspect(s.t, ctx, []string{fmt.Sprintf("#post-%d .post-body", b.number)}))
		})
	}
}

// alone posts vector i by itself, as the moderator (held to no level limits),
// to pin down which vector of a post a hit came from.
func (s *xssSuite) alone(i int) *xssBatch {
	b := &xssBatch{idx: []int{i}, body: xssBody(s.vs, []int{i})}
	(&xssPoster{t: s.t, a: s.a, cat: s.cat(), name: s.mod, token: s.modToken()}).post(b)
	return b
}

func (s *xssSuite) cat() int64 {
	var id int64
	if err := s.db.NewSelect().TableExpr("categories").Column("id").Limit(1).Scan(context.Background(), &id); err != nil {
		s.t.Fatal(err)
	}
	return id
}

func (s *xssSuite) modToken() string {
	_, token := mustAPILogin(s.t, s.a, s.mod)
	return token
}

func xssAllHits(r xssReport) []string {
	h := append(r.Load, r.Late...)
	for _, v := range r.Regions {
		h = append(h, v...)
	}
	return h
}

// previews types each post into the new-topic composer as the level-1
// member and lets app.js fetch POST /api/v1/preview and insert its HTML, as
// it does for a person typing.
func (s *xssSuite) previews() {
	show := func(ctx context.Context, w *xssWatch, b *xssBatch) xssReport {
		body, _ := json.Marshal(b.body)
		err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`{const a = document.querySelector("#body"); a.value = `+string(body)+`; a.dispatchEvent(new Event("input"));}`),
			chromedp.Poll[chromedp.Void](`document.querySelector("#preview .preview-body").textContent.includes("`+xssMark(b.idx[len(b.idx)-1])+`")`),
		)
		if err != nil {
			s.t.Fatalf("preview of vectors %v: %v", b.idx, err)
		}
		return w.inspect(s.t, ctx, []string{"#preview .preview-body"})
	}
	spare := s.spare(s.member, "/new-topic")
	var ctx context.Context
	var w *xssWatch
	for n, b := range s.batches {
		if n%16 == 0 { // a fresh tab now and then: each has a 60-second budget
			ctx, w = s.tab(s.member)
			s.navigate(ctx, "/new-topic")
		}
		r := show(ctx, w, b)
		if n == 0 {
			browser.Screenshot(s.t, ctx, "xss-preview")
		}
		s.check(viewPreview, r, []*xssBatch{b}, func(i int) []string {
			ctx, w := spare()
			return xssAllHits(show(ctx, w, &xssBatch{idx: []int{i}, body: xssBody(s.vs, []int{i})}))
		})
	}
}

// editViews opens each post's edit form as the moderator, then presses
// Preview, which renders the draft server-side into the same page.
func (s *xssSuite) editViews() {
	show := func(ctx context.Context, w *xssWatch, b *xssBatch) (atLoad, preview xssReport) {
		s.navigate(ctx, fmt.Sprintf("/p/%d/edit", b.post))
		atLoad = w.inspect(s.t, ctx, nil)
		err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`button[name="preview"]`)),
			chromedp.WaitVisible(chromedp.CSS("#preview .preview-body")),
			chromedp.WaitReady(chromedp.CSS("footer")),
		)
		if err != nil {
			s.t.Fatalf("edit view preview of post %d: %v", b.post, err)
		}
		return atLoad, w.inspect(s.t, ctx, []string{"#preview .preview-body"})
	}
	spare := s.spare(s.mod, "")
	var ctx context.Context
	var w *xssWatch
	for n, b := range s.batches {
		if n%10 == 0 {
			ctx, w = s.tab(s.mod)
		}
		atLoad, r := show(ctx, w, b)
		if n == 0 {
			browser.Screenshot(s.t, ctx, "xss-edit")
		}
		r.Load = append(r.Load, xssAllHits(atLoad)...)
		s.check(viewEdit, r, []*xssBatch{b}, func(i int) []string {
			ctx, w := spare()
			a, r := show(ctx, w, s.alone(i))
			return append(xssAllHits(a), xssAllHits(r)...)
		})
	}
}

// newXSSSuite serves the app (CSP report-only unless enforce), registers the
// moderator, packs the corpus and has level-1 members post it.
func newXSSSuite(t *testing.T, enforce bool) *xssSuite {
	t.Helper()
	vs, err := xsscorpus.All()
	if err != nil {
		t.Fatal(err)
	}
	db := testdb.Open(t, "sqlite")
	a := newApp(t, db, func(d *app.Deps) { d.CSPReportOnly = !enforce })
	s := &xssSuite{t: t, db: db, a: a, base: startServer(t, a), vs: vs, batches: xssPack(vs), mod: "xssmod",
		failed: map[string][]string{}}
	mustTPCategory(t, db, "Hostile", "hostile")
	mustTPUser(t, db, s.mod, "moderator")
	return s
}

// postAll posts every batch: level-1 batches by new members (checked to be
// level 1 still afterwards); a batch beyond level 1 is first refused to a
// level-1 member, then posted by an established one.
func (s *xssSuite) postAll() {
	t := s.t
	cat := s.cat()
	newbies := &xssPoster{t: t, db: s.db, a: s.a, cat: cat, level1: true}
	vets := &xssPoster{t: t, db: s.db, a: s.a, cat: cat}
	refused := 0
	for _, b := range s.batches {
		if !b.media {
			newbies.post(b)
			continue
		}
		if newbies.token != "" && newbies.topic != 0 {
			res, body := call(t, s.a, jsonReq(http.MethodPost, fmt.Sprintf("/api/v1/topics/%d/posts", newbies.topic),
				map[string]any{"body": b.body}, newbies.token))
			if res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "level 1") {
				t.Fatalf("level-1 member posting vectors %v beyond level 1: status %d, want 422: %s", b.idx, res.StatusCode, body)
			}
			refused++
		}
		vets.post(b)
	}
	for _, name := range newbies.members {
		res, body := call(t, s.a, jsonReq(http.MethodGet, "/api/v1/users/"+name, nil, ""))
		if res.StatusCode != http.StatusOK || num(decode(t, body), "user", "level") != 1 {
			t.Fatalf("%s is not at level 1 after posting: %s", name, body)
		}
	}
	s.member = newbies.members[0]
	t.Logf("%d vectors in %d posts: %d by %d level-1 members, %d beyond level 1 (refused to level 1, posted at level 2)",
		len(s.vs), len(s.batches), len(s.batches)-refused, len(newbies.members), refused)
}

// TestBrowserXSSCorpus: no vector of the corpus runs anything on the topic
// page, in the live preview or in the moderator's edit view, with the CSP
// in report-only mode: the sanitizer alone is tested.
func TestBrowserXSSCorpus(t *testing.T) {
	s := newXSSSuite(t, false)
	s.postAll()
	s.views(viewTopic, viewPreview, viewEdit)
}

// views shows the posts on the views named, each in its own tabs, side by
// side (most of a view's time is waiting for the page).
func (s *xssSuite) views(names ...string) {
	run := map[string]func(*xssSuite){viewTopic: (*xssSuite).topicPages, viewPreview: (*xssSuite).previews,
		viewEdit: (*xssSuite).editViews}
	for _, name := range names {
		s.t.Run(name, func(t *testing.T) {
			t.Parallel()
			v := *s
			v.t, v.failed = t, map[string][]string{}
			start := time.Now()
			run[name](&v)
			t.Logf("%d posts on the %s in %v", len(s.batches), name, time.Since(start).Round(time.Millisecond))
			if n := len(v.failed[name]); n > 0 {
				t.Errorf("%d vectors executed on the %s", n, name)
			}
		})
	}
}

// TestBrowserXSSCorpusEnforcedCSP: the corpus on the topic pages as served
// in production, with the CSP enforced.
func TestBrowserXSSCorpusEnforcedCSP(t *testing.T) {
	s := newXSSSuite(t, true)
	s.postAll()
	s.views(viewTopic)
}

// xssControl is unsanitized HTML that uses each way the detector sees
// script run; TestBrowserXSSDetector requires every one to be seen.
const xssControl = `<p>XSSMARK0001</p><img src="x" onerror="alert('ctl-load')">` +
	`<p>XSSMARK0002</p><p onmouseover="alert('ctl-event')">hover</p>` +
	`<p>XSSMARK0003</p><a href="javascript:alert('ctl-link')">link</a>` +
	`<p>XSSMARK0004</p><p onclick="document.body.appendChild(document.createElement('iframe')).contentWindow.alert('ctl-frame')">frame</p>` +
	`<p>XSSMARK0005</p><p onclick="document.body.appendChild(document.createElement('iframe')).contentWindow.open('/xss-stay?ctl-open')">open</p>` +
	`<p>XSSMARK0006</p><p onclick="location.href='/xss-stay?ctl-nav'">navigate</p>` +
	`<p>XSSMARK0007</p><iframe srcdoc="<script>parent.prompt('ctl-srcdoc')</script>"></iframe>`

// xssControlSeen are what the control must show, by channel.
var xssControlSeen = []string{"alert(ctl-load)", "alert(ctl-event)", "alert(ctl-link)", "ctl-frame", "ctl-open",
	"navigation to", "prompt(ctl-srcdoc)", "csp script-src", "dom: p has onmouseover", "dom: a href=javascript"}

// TestBrowserXSSDetector is the positive control: raw HTML written into a
// stored post and straight into the preview box must be caught through every
// channel, and attributed to its region; with the CSP enforced the same post
// runs nothing but is reported by the CSP.
func TestBrowserXSSDetector(t *testing.T) {
	for _, enforce := range []bool{false, true} {
		t.Run(map[bool]string{false: "report-only", true: "enforced"}[enforce], func(t *testing.T) {
			s := newXSSSuite(t, enforce)
			b := &xssBatch{idx: []int{0}, body: "control"}
			(&xssPoster{t: t, a: s.a, cat: s.cat(), name: s.mod, token: s.modToken()}).post(b)
			if _, err := s.db.NewUpdate().Table("posts").Set("html = ?", xssControl).Where("id = ?", b.post).
				Exec(context.Background()); err != nil {
				t.Fatal(err)
			}
			ctx, w := s.tab(s.mod)
			s.navigate(ctx, b.url)
			browser.Screenshot(t, ctx, "xss-control-"+map[bool]string{false: "report-only", true: "enforced"}[enforce])
			reports := map[string]xssReport{viewTopic: w.inspect(t, ctx, []string{"#post-1 .post-body"})}

			s.navigate(ctx, "/new-topic")
			raw, _ := json.Marshal(xssControl)
			if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`{const p = document.querySelector("#preview"); p.hidden = false;
				p.querySelector(".preview-body").innerHTML = `+string(raw)+`;}`)); err != nil {
				t.Fatal(err)
			}
			reports[viewPreview] = w.inspect(t, ctx, []string{"#preview .preview-body"})

			for view, r := range reports {
				all := strings.Join(xssAllHits(r), "\n")
				if len(r.Marks) != 7 {
					t.Errorf("%s: walked markers %v, want 7", view, r.Marks)
				}
				if enforce {
					for _, ran := range []string{"alert(", "prompt(", "window.open", "dialog", "new target", "navigation"} {
						if strings.Contains("\n"+all, "\n"+ran) {
							t.Errorf("%s: with the CSP enforced the control ran %q:\n%s", view, ran, all)
						}
					}
					if !strings.Contains(all, "csp script-src") {
						t.Errorf("%s: with the CSP enforced no violation was reported:\n%s", view, all)
					}
					continue
				}
				for _, want := range xssControlSeen {
					if view == viewPreview && want == "prompt(ctl-srcdoc)" {
						continue // srcdoc set through innerHTML runs too, but after the walk's wait at worst
					}
					if !strings.Contains(all, want) {
						t.Errorf("%s: the detector missed %q; it saw:\n%s", view, want, all)
					}
				}
				if !slices.ContainsFunc(r.Regions["2"], func(h string) bool { return strings.Contains(h, "ctl-event") }) {
					t.Errorf("%s: the mouseover hit is not in vector 2's region: %v", view, r.Regions)
				}
			}
		})
	}
}

// TestCSPReportOnly: the CSP is enforced unless Deps.CSPReportOnly asks for
// the same policy as a report.
func TestCSPReportOnly(t *testing.T) {
	db := testdb.Open(t, "sqlite")
	enforced, _ := getPage(t, newApp(t, db), "/")
	reported, _ := getPage(t, newApp(t, db, func(d *app.Deps) { d.CSPReportOnly = true }), "/")
	policy := enforced.Header.Get("Content-Security-Policy")
	if policy == "" || enforced.Header.Get("Content-Security-Policy-Report-Only") != "" {
		t.Fatalf("default: CSP %q, report-only %q; want the CSP enforced", policy, enforced.Header.Get("Content-Security-Policy-Report-Only"))
	}
	if got := reported.Header.Get("Content-Security-Policy-Report-Only"); got != policy || reported.Header.Get("Content-Security-Policy") != "" {
		t.Fatalf("report-only: CSP %q, report-only %q; want only the report, equal to %q", reported.Header.Get("Content-Security-Policy"), got, policy)
	}
}
