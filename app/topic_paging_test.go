package app_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/forum"
	"agora/internal/testdb"
	"agora/models"
)

// pagingTopic is a topic of 26 posts (the question and 25 replies by two
// members, alternating) for the paging tests.
func pagingTopic(t *testing.T, db *bun.DB) *models.Topic {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Add(-time.Hour)
	mk := func(name string) *models.User {
		u := &models.User{Username: name, Email: name + "@example.com", Role: models.RoleMember, CreatedAt: now, UpdatedAt: now}
		if err := models.CreateUser(ctx, db, u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	asker, helper := mk("pagingasker"), mk("paginghelper")
	cat := &models.Category{Name: "Paging", Slug: "paging", Color: "#3b6ea8", CreatedAt: now, UpdatedAt: now}
	if err := models.CreateCategory(ctx, db, cat); err != nil {
		t.Fatal(err)
	}
	svc := forum.New(db, nil)
	tp, _, err := svc.CreateTopic(ctx, asker, forum.TopicInput{CategoryID: cat.ID, Title: "How do pages of a topic work?", Body: "The question."})
	if err != nil {
		t.Fatal(err)
	}
	for i := 2; i <= 26; i++ {
		by := helper
		if i%2 == 1 {
			by = asker
		}
		if _, err := svc.Reply(ctx, by, tp.ID, fmt.Sprintf("Reply making post number %d.", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	return tp
}

// topicPosts is GET /api/v1/topics/{id}?query as token (empty: a guest):
// the status, the post numbers of posts.items and the posts object.
func topicPosts(t *testing.T, a *fiber.App, id int64, query, token string) (int, []int, map[string]any) {
	t.Helper()
	res, body := call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/topics/%d%s", id, query), nil, token))
	m := decode(t, body)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil, m
	}
	posts, ok := m["posts"].(map[string]any)
	if !ok {
		t.Fatalf("GET topic %s: no posts object in %s", query, body)
	}
	items, _ := posts["items"].([]any)
	numbers := []int{}
	for _, it := range items {
		numbers = append(numbers, int(it.(map[string]any)["post_number"].(float64)))
	}
	return res.StatusCode, numbers, posts
}

// span is the numbers from..to.
func span(from, to int) []int {
	var out []int
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

func TestTopicPagingAPIHonoursPageAndPerPage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		a := newApp(t, db)
		tp := pagingTopic(t, db)
		const total = 26
		check := func(query string, page, perPage, pages int, want []int) {
			t.Helper()
			status, got, posts := topicPosts(t, a, tp.ID, query, "")
			if status != http.StatusOK {
				t.Errorf("GET %q: status %d, want 200", query, status)
				return
			}
			if !slices.Equal(got, want) {
				t.Errorf("GET %q: posts %v, want %v", query, got, want)
			}
			if num(posts, "page") != float64(page) || num(posts, "per_page") != float64(perPage) ||
				num(posts, "total") != total || num(posts, "pages") != float64(pages) {
				t.Errorf("GET %q: page %v per_page %v total %v pages %v; want %d, %d, %d, %d", query,
					posts["page"], posts["per_page"], posts["total"], posts["pages"], page, perPage, total, pages)
			}
		}

		// No parameters: the first page of forum.PerPage posts.
		check("", 1, forum.PerPage, 2, span(1, forum.PerPage))
		check("?page=2", 2, forum.PerPage, 2, span(forum.PerPage+1, total))

		// per_page asks for fewer, and pages count in per_page: page 2 goes on
		// where page 1 stopped.
		check("?per_page=5", 1, 5, 6, span(1, 5))
		check("?per_page=5&page=2", 2, 5, 6, span(6, 10))
		check("?page=6&per_page=5", 6, 5, 6, []int{26})
		// A page that straddles two of the HTML page's pages.
		check("?per_page=7&page=3", 3, 7, 4, span(15, 21))

		// Walking every page with per_page gives each post once, in order.
		for _, perPage := range []int{1, 5, 7, 13, forum.PerPage} {
			var seen []int
			for page := 1; ; page++ {
				status, got, posts := topicPosts(t, a, tp.ID, fmt.Sprintf("?per_page=%d&page=%d", perPage, page), "")
				if status == http.StatusNotFound {
					break
				}
				if status != http.StatusOK || page > total+1 {
					t.Fatalf("per_page=%d page=%d: status %d", perPage, page, status)
				}
				if len(got) > perPage {
					t.Errorf("per_page=%d page=%d: %d posts", perPage, page, len(got))
				}
				if want := (total + perPage - 1) / perPage; num(posts, "pages") != float64(want) {
					t.Errorf("per_page=%d: pages %v, want %d", perPage, posts["pages"], want)
				}
				seen = append(seen, got...)
			}
			if !slices.Equal(seen, span(1, total)) {
				t.Errorf("per_page=%d: walking the pages gave posts %v, want 1..%d once each", perPage, seen, total)
			}
		}

		// per_page above forum.PerPage is clamped to it.
		for _, q := range []string{"?per_page=21", "?per_page=100", "?per_page=100000"} {
			check(q, 1, forum.PerPage, 2, span(1, forum.PerPage))
		}
		check("?per_page=50&page=2", 2, forum.PerPage, 2, span(forum.PerPage+1, total))

		// Values that are no number, or below 1, fall back as on every list
		// (pageParams): never a server error.
		check("?per_page=abc", 1, forum.PerPage, 2, span(1, forum.PerPage))
		check("?per_page=0", 1, 1, total, []int{1})
		check("?per_page=-3&page=2", 2, 1, total, []int{2})
		check("?page=abc&per_page=5", 1, 5, 6, span(1, 5))
		check("?page=0&per_page=5", 1, 5, 6, span(1, 5))
		check("?page=-1", 1, forum.PerPage, 2, span(1, forum.PerPage))
		check("?page=99999999999999999999999&per_page=5", 1, 5, 6, span(1, 5))

		// A page past the last is a 404 with the API's error shape, not a 500.
		for _, q := range []string{"?page=3", "?per_page=5&page=7", "?per_page=1&page=27", "?page=9223372036854775807&per_page=20"} {
			status, _, body := topicPosts(t, a, tp.ID, q, "")
			if status != http.StatusNotFound {
				t.Errorf("GET %q: status %d, want 404", q, status)
			}
			if e, ok := body["error"].(map[string]any); !ok || e["code"] == "" {
				t.Errorf("GET %q: body %v, want {error: {code, message}}", q, body)
			}
		}
	})
}

// A smaller page is still checked for the member's own posts and likes
// before a shared answer is used: a member's like on post 7 shows on page 2
// of per_page=5 even after a guest fetched that page.
func TestTopicPagingAPIKeepsMembersOwnOnSmallerPages(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		ctx := context.Background()
		a := newApp(t, db)
		tp := pagingTopic(t, db)
		token := mustAPIRegister(t, a, "pagingreader", "pagingreader@example.com")
		reader, err := models.UserByUsername(ctx, db, "pagingreader")
		if err != nil {
			t.Fatal(err)
		}
		posts, err := models.TopicPosts(ctx, db, tp.ID, 7, 7)
		if err != nil || len(posts) != 1 {
			t.Fatalf("post 7: %v, %v", posts, err)
		}
		if _, err := forum.New(db, nil).Like(ctx, reader, posts[0].ID); err != nil {
			t.Fatal(err)
		}

		liked := func(token string) map[int]bool {
			t.Helper()
			res, body := call(t, a, jsonReq(http.MethodGet, fmt.Sprintf("/api/v1/topics/%d?per_page=5&page=2", tp.ID), nil, token))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", res.StatusCode, body)
			}
			out := map[int]bool{}
			for _, it := range decode(t, body)["posts"].(map[string]any)["items"].([]any) {
				p := it.(map[string]any)
				out[int(p["post_number"].(float64))] = p["liked"].(bool)
			}
			return out
		}
		if got := liked(""); len(got) != 5 || got[7] {
			t.Fatalf("guest's page 2: %v, want posts 6..10, none liked", got)
		}
		if got := liked(token); len(got) != 5 || !got[7] {
			t.Errorf("member's page 2 after a guest's: %v, want post 7 liked (their own like, not the guests' answer)", got)
		}
		if got := liked(""); got[7] {
			t.Errorf("guest's page 2 after the member's: %v, want no like of theirs", got)
		}
	})
}
