package main

import (
	"fmt"
	"net/url"
	"strconv"
	"sync/atomic"
)

// Kinds of scenario, for the ceiling they compare with.
const (
	kindHTML  = "html"
	kindJSON  = "json"
	kindMixed = "mixed"
)

// scenario is one row of the table.
type scenario struct {
	Key  string // stable id, used by the targets
	Name string
	Kind string
	Next func(w *Worker) Req
}

// searchQueries are the two-word subjects the synthetic forum talks about
// (seed/text.go): each one's words fill whole threads, so every query
// matches tens of thousands of posts; the load spreads over all of them.
var searchQueries = []string{
	"workspace setup", "invite teammates", "project templates", "guest access", "onboarding checklist",
	"keyboard shortcuts", "trello import", "recurring tasks", "due dates", "gantt chart", "time tracking",
	"custom fields", "subtask dependencies", "kanban swimlanes", "search filters", "email notifications",
	"file attachments", "timezone settings", "export csv", "billing invoice", "seat license", "sso login",
	"workload view", "dashboard reports", "webhook timeout", "oauth token", "slack notifications",
	"github integration", "zapier zap", "calendar sync", "jira import", "api pagination", "webhook signature",
	"offline mode", "bulk edit", "custom roles", "audit log", "task templates", "dark mode", "portfolio view",
	"release notes", "scheduled maintenance",
}

// requestPools holds the prebuilt request targets, so that picking one
// allocates nothing.
type requestPools struct {
	listHTML, listJSON   []string
	topicHTML, topicJSON []string
	search               []string
	modAPI, modHTML      []string
	topicIDs             []int64
	replyURI             []string // per topic
	likeURI              []string // per post
	flagURI              [][]string
	flagNext             []atomic.Int64 // per member: flags raised so far
}

var (
	replyBody = []byte(`{"body":"Thanks, that worked for us too. We turned the sync off and on again and the numbers match now."}`)
	flagBody  = []byte(`{"reason":"off_topic"}`)
)

func newPools(fx *fixtures) *requestPools {
	p := &requestPools{}
	for n := 1; n <= 50; n++ {
		p.listHTML = append(p.listHTML, "/?page="+strconv.Itoa(n))
		p.listJSON = append(p.listJSON, "/api/v1/topics?page="+strconv.Itoa(n))
		p.modAPI = append(p.modAPI, "/api/v1/mod/queue?page="+strconv.Itoa(n))
		p.modHTML = append(p.modHTML, "/mod?page="+strconv.Itoa(n))
	}
	for _, t := range fx.Topics {
		id := strconv.FormatInt(t.ID, 10)
		p.topicIDs = append(p.topicIDs, t.ID)
		p.topicHTML = append(p.topicHTML, "/t/"+id+"/"+t.Slug+"?page=1")
		p.topicJSON = append(p.topicJSON, "/api/v1/topics/"+id)
		p.replyURI = append(p.replyURI, "/api/v1/topics/"+id+"/posts")
	}
	for _, q := range searchQueries {
		p.search = append(p.search, "/api/v1/search?q="+url.QueryEscape(q))
	}
	for _, id := range fx.LikePosts {
		p.likeURI = append(p.likeURI, fmt.Sprintf("/api/v1/posts/%d/like", id))
	}
	p.flagURI = make([][]string, len(fx.FlagPosts))
	for m, ids := range fx.FlagPosts {
		for _, id := range ids {
			p.flagURI[m] = append(p.flagURI[m], fmt.Sprintf("/api/v1/posts/%d/flags", id))
		}
	}
	p.flagNext = make([]atomic.Int64, len(fx.FlagPosts))
	return p
}

func pick(w *Worker, list []string) string { return list[w.R.IntN(len(list))] }

// scenarios returns the Agora scenarios in the order they run. The
// moderation queue runs before the mixed workload, whose flags would add
// entries to it.
func scenarios(fx *fixtures, p *requestPools) []scenario {
	mod := fx.Moderator.Token
	get := func(list []string) func(w *Worker) Req {
		return func(w *Worker) Req { return Req{URI: pick(w, list)} }
	}
	return []scenario{
		{"home", "home page (HTML)", kindHTML, func(w *Worker) Req { return Req{URI: "/"} }},
		{"list-html", "topic list (HTML)", kindHTML, get(p.listHTML)},
		{"list-json", "topic list (JSON)", kindJSON, get(p.listJSON)},
		{"topic-html", "topic page, 20 posts (HTML)", kindHTML, get(p.topicHTML)},
		{"topic-json", "topic page, 20 posts (JSON)", kindJSON, get(p.topicJSON)},
		{"search", "search, two words (JSON)", kindJSON, get(p.search)},
		{"mod-json", "mod queue, 1,000 open (JSON)", kindJSON, func(w *Worker) Req { return Req{URI: pick(w, p.modAPI), Token: mod} }},
		{"mod-html", "mod queue, 1,000 open (HTML)", kindHTML, func(w *Worker) Req { return Req{URI: pick(w, p.modHTML), Token: mod} }},
		{"mixed", "mixed: 90% reads, 8% replies, 2% likes+flags", kindMixed, mixedNext(fx, p)},
	}
}

// mixedNext is the signed-in mix: each worker is one of the 32 members;
// 90% reads spread evenly over the read scenarios, 8% replies, 1% likes of
// other members' posts and 1% flags of distinct posts (at most 20 per
// member, the domain's hourly limit; after that the slot becomes a like).
func mixedNext(fx *fixtures, p *requestPools) func(w *Worker) Req {
	reads := [][]string{{"/"}, p.listHTML, p.listJSON, p.topicHTML, p.topicJSON, p.search}
	readKinds := []string{"read", "read", "read", "read", "read", "read"}
	return func(w *Worker) Req {
		m := w.ID % len(fx.Members)
		token := fx.Members[m].Token
		n := w.R.IntN(1000)
		switch {
		case n < 900:
			i := n % len(reads)
			return Req{URI: pick(w, reads[i]), Token: token, Kind: readKinds[i]}
		case n < 980:
			return Req{Method: "POST", URI: pick(w, p.replyURI), Body: replyBody, Token: token, Kind: "reply"}
		case n < 990:
			if k := p.flagNext[m].Add(1) - 1; k < int64(len(p.flagURI[m])) {
				return Req{Method: "POST", URI: p.flagURI[m][k], Body: flagBody, Token: token, Kind: "flag"}
			}
		}
		return Req{Method: "POST", URI: pick(w, p.likeURI), Token: token, Kind: "like"}
	}
}
