package main

import (
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/template/html/v2"
)

// The ceilings: what bare Fiber can do on this machine with responses of
// the same size as Agora's topic page. /json encodes a topic with 20 posts
// (Agora's shape: topic, author briefs, body and html per post) with
// Fiber's default encoder on every request; /html renders a 20-post page
// with html/template through the same template engine Agora uses
// (gofiber/template/html), the post bodies trusted HTML as in Agora. Both
// are padded to the measured byte sizes of Agora's answers.

//go:embed ceilingtpl/*.html
var ceilingFS embed.FS

type ceilBrief struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Level       int    `json:"level"`
	BadgeCount  int    `json:"badge_count"`
}

type ceilPost struct {
	ID            int64      `json:"id"`
	TopicID       int64      `json:"topic_id"`
	UserID        int64      `json:"user_id"`
	PostNumber    int        `json:"post_number"`
	ReplyToPostID *int64     `json:"reply_to_post_id"`
	Body          string     `json:"body"`
	HTML          string     `json:"html"`
	LikeCount     int        `json:"like_count"`
	RevisionCount int        `json:"revision_count"`
	EditedAt      *time.Time `json:"edited_at"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	Author        *ceilBrief `json:"author"`
	Liked         bool       `json:"liked"`
	IsSolution    bool       `json:"is_solution"`
}

type ceilTopic struct {
	ID           int64      `json:"id"`
	CategoryID   int64      `json:"category_id"`
	UserID       int64      `json:"user_id"`
	Title        string     `json:"title"`
	Slug         string     `json:"slug"`
	ReplyCount   int        `json:"reply_count"`
	ViewCount    int        `json:"view_count"`
	LastPostedAt time.Time  `json:"last_posted_at"`
	CreatedAt    time.Time  `json:"created_at"`
	URL          string     `json:"url"`
	Author       *ceilBrief `json:"author"`
}

type ceilJSON struct {
	Topic ceilTopic `json:"topic"`
	Posts struct {
		Items   []ceilPost `json:"items"`
		Page    int        `json:"page"`
		PerPage int        `json:"per_page"`
		Total   int        `json:"total"`
	} `json:"posts"`
}

type ceilItem struct {
	Number                  int
	Username, Name, Initial string
	Level, Badges, Likes    int
	URL, ISO, Date, Ago     string
	Body                    template.HTML
}

type ceilPage struct {
	Title, Community, Color, Category, CategorySlug, LoginURL string
	Replies, Views                                            int
	Items                                                     []ceilItem
}

// filler is n bytes of plain ASCII prose (nothing to escape in JSON).
func filler(n int) string {
	const words = "the export finished but the numbers in the report do not match what the dashboard shows for this sprint "
	if n <= 0 {
		return ""
	}
	return strings.Repeat(words, n/len(words)+1)[:n]
}

func htmlFiller(n int) template.HTML {
	if n < 8 {
		return template.HTML(filler(max(n, 0)))
	}
	return template.HTML("<p>" + filler(n-7) + "</p>")
}

func ceilingJSONData(size int) (*ceilJSON, int) {
	at := time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)
	d := &ceilJSON{Topic: ceilTopic{ID: 48213, CategoryID: 2, UserID: 1207, Title: "Export csv not working after the latest update",
		Slug: "export-csv-not-working-after-the-latest-update", ReplyCount: 23, ViewCount: 418, LastPostedAt: at, CreatedAt: at,
		URL:    "/t/48213/export-csv-not-working-after-the-latest-update",
		Author: &ceilBrief{ID: 1207, Username: "mpatel1207", DisplayName: "Maya Patel", Level: 2, BadgeCount: 2}}}
	d.Posts.Page, d.Posts.PerPage, d.Posts.Total = 1, 20, 24
	for i := range 20 {
		d.Posts.Items = append(d.Posts.Items, ceilPost{ID: int64(480000 + i), TopicID: 48213, UserID: int64(1000 + i),
			PostNumber: i + 1, CreatedAt: at, UpdatedAt: at, LikeCount: i % 3,
			Author: &ceilBrief{ID: int64(1000 + i), Username: "user" + strconv.Itoa(1000+i), DisplayName: "Ava Costa", Level: i % 5}})
	}
	measure := func() int { b, _ := json.Marshal(d); return len(b) }
	base := measure()
	spread := func(extra int) {
		for i := range d.Posts.Items {
			n := extra / 40
			if i == 0 {
				n += extra % 40 / 2
			}
			d.Posts.Items[i].Body = filler(n)
			d.Posts.Items[i].HTML = "<p>" + filler(max(n-21, 0)) + "</p>" // encoded as \u003cp\u003e, as Agora's are
		}
	}
	spread(max(size-base, 0))
	// Fine-tune on the first post until the size is exact.
	for range 4 {
		diff := size - measure()
		if diff == 0 {
			break
		}
		p := &d.Posts.Items[0]
		p.Body = filler(max(len(p.Body)+diff, 0))
	}
	return d, measure()
}

func ceilingHTMLData(t *template.Template, size int) (*ceilPage, int, error) {
	p := &ceilPage{Title: "Export csv not working after the latest update", Community: "Agora Community", Color: "#3b6ea8",
		Category: "Questions & Answers", CategorySlug: "questions", LoginURL: "/login?next=%2Ft%2F48213%2Fexport-csv", Replies: 23, Views: 418}
	for i := range 20 {
		p.Items = append(p.Items, ceilItem{Number: i + 1, Username: "user" + strconv.Itoa(1000+i), Name: "Ava Costa", Initial: "A",
			Level: i % 5, Badges: 2, Likes: i % 3, URL: "/t/48213/export-csv#post-" + strconv.Itoa(i+1),
			ISO: "2026-03-14T09:26:53Z", Date: "Mar 14, 2026", Ago: "Mar 14, 2026"})
	}
	measure := func() (int, error) {
		var b strings.Builder
		err := t.ExecuteTemplate(&b, "page", p)
		return b.Len(), err
	}
	base, err := measure()
	if err != nil {
		return nil, 0, err
	}
	extra := max(size-base, 0)
	for i := range p.Items {
		n := extra / 20
		if i == 0 {
			n += extra % 20
		}
		p.Items[i].Body = htmlFiller(n)
	}
	for range 4 {
		got, err := measure()
		if err != nil || got == size {
			break
		}
		p.Items[0].Body = htmlFiller(len(p.Items[0].Body) + size - got)
	}
	got, err := measure()
	return p, got, err
}

// runCeiling is the hidden `ceiling` mode: serve both ceilings on -addr.
func runCeiling(args []string) error {
	fset := flag.NewFlagSet("ceiling", flag.ContinueOnError)
	addr := fset.String("addr", "127.0.0.1:0", "listen address")
	jsonSize := fset.Int("json-size", 20000, "bytes of the JSON answer")
	htmlSize := fset.Int("html-size", 40000, "bytes of the HTML page")
	if err := fset.Parse(args); err != nil {
		return err
	}
	sub, err := fs.Sub(ceilingFS, "ceilingtpl")
	if err != nil {
		return err
	}
	engine := html.NewFileSystem(http.FS(sub), ".html")
	if err := engine.Load(); err != nil {
		return err
	}
	tpl := engine.Templates.Lookup("page")
	if tpl == nil {
		return errors.New("ceiling template missing")
	}
	page, gotHTML, err := ceilingHTMLData(tpl, *htmlSize)
	if err != nil {
		return err
	}
	data, gotJSON := ceilingJSONData(*jsonSize)
	fmt.Printf("ceiling: json %d bytes (asked %d), html %d bytes (asked %d)\n", gotJSON, *jsonSize, gotHTML, *htmlSize)

	app := fiber.New(fiber.Config{Views: engine, DisableStartupMessage: true})
	app.Get("/json", func(c *fiber.Ctx) error { return c.JSON(data) })
	app.Get("/html", func(c *fiber.Ctx) error { return c.Render("page", page) })
	app.Get("/readyz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	return app.Listen(*addr)
}
