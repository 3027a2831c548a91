package moderation_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/uptrace/bun"

	"agora/app"
	"agora/config"
	"agora/internal/testdb"
	"agora/markup"
	"agora/models"
	"agora/moderation"
	"agora/services"
)

// grHTMLKey is the settings key the current markup policy's
// rendering of the guidelines is stored under.
var grHTMLKey = models.SettingGuidelinesHTML + "_v" + strconv.Itoa(markup.Version)

// grSetting returns the stored value under key and whether there is a row.
func grSetting(t *testing.T, db bun.IDB, key string) (string, bool) {
	t.Helper()
	var rows []*models.Setting
	if err := db.NewSelect().Model(&rows).Where("key = ?", key).Scan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		return "", false
	}
	return rows[0].Value, true
}

func grPut(t *testing.T, f *fixture, key, value string) {
	t.Helper()
	if err := models.PutSetting(context.Background(), f.db, key, value, f.now); err != nil {
		t.Fatal(err)
	}
}

// grApp is the real web app over db's services, as the server runs it.
func grApp(t *testing.T, f *fixture) *fiber.App {
	t.Helper()
	cfg, _, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return f.now }
	set, err := services.New(context.Background(), f.db, clock, nil, services.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(app.Deps{Set: set, Config: cfg, Now: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func grGet(t *testing.T, a *fiber.App, path string) string {
	t.Helper()
	res, err := a.Test(httptest.NewRequest(http.MethodGet, path, nil), -1)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d: %s", path, res.StatusCode, body)
	}
	return string(body)
}

func TestGuidelinesRenderedWhenSaved(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()

		// Saving stores the Markdown and, beside it, its rendering by the
		// current markup policy.
		const body = "# Our rules\n\nBe **kind** to each other.\r\n\r\nAsk *good* questions."
		if err := f.svc.Update(ctx, f.admin, moderation.GuidelinesDoc, body); err != nil {
			t.Fatal(err)
		}
		md, _ := grSetting(t, db, models.SettingGuidelines)
		wantMD := strings.ReplaceAll(body, "\r\n", "\n")
		if md != wantMD {
			t.Errorf("stored guidelines = %q, want %q", md, wantMD)
		}
		html, ok := grSetting(t, db, grHTMLKey)
		if !ok || html != markup.Render(wantMD) {
			t.Fatalf("stored rendering under %q = %q (row: %v), want %q", grHTMLKey, html, ok, markup.Render(wantMD))
		}
		if !strings.Contains(html, "<strong>kind</strong>") || !strings.Contains(html, "<em>good</em>") {
			t.Errorf("stored rendering %q is not the Markdown's", html)
		}
		if got, err := f.svc.HTML(ctx, moderation.GuidelinesDoc); err != nil || got != html {
			t.Errorf("GuidelinesHTML = %q, %v; want the stored rendering %q", got, err, html)
		}

		// Refused edits change neither.
		if err := f.svc.Update(ctx, f.mod, moderation.GuidelinesDoc, "# Mine now"); !errors.Is(err, models.ErrForbidden) {
			t.Errorf("moderator's edit: %v, want ErrForbidden", err)
		}
		if err := f.svc.Update(ctx, f.admin, moderation.GuidelinesDoc, "  \n "); err == nil {
			t.Error("empty guidelines accepted")
		}
		if got, _ := grSetting(t, db, grHTMLKey); got != html {
			t.Errorf("stored rendering after refused edits = %q, want %q", got, html)
		}

		// Reading returns what is stored and never renders: replace the stored
		// rendering (and the Markdown behind it) and the readers show the stored
		// rendering as it is.
		const stored = `<p id="stored-at-write">The rendering stored when the guidelines were saved.</p>`
		grPut(t, f, grHTMLKey, stored)
		grPut(t, f, models.SettingGuidelines, "# Changed behind the service\n\nNot rendered on read.")
		if got, err := f.svc.HTML(ctx, moderation.GuidelinesDoc); err != nil || got != stored {
			t.Errorf("GuidelinesHTML = %q, %v; want the stored %q, not a fresh rendering", got, err, stored)
		}

		// So does the web app: the page and the JSON route.
		a := grApp(t, f)
		page := grGet(t, a, "/guidelines")
		if !strings.Contains(page, stored) {
			t.Errorf("GET /guidelines does not show the stored rendering %q", stored)
		}
		if strings.Contains(page, "Not rendered on read") || strings.Contains(page, "<strong>kind</strong>") {
			t.Error("GET /guidelines rendered the Markdown instead of showing the stored rendering")
		}
		var api struct {
			Markdown string `json:"markdown"`
			HTML     string `json:"html"`
		}
		if err := json.Unmarshal([]byte(grGet(t, a, "/api/v1/guidelines")), &api); err != nil {
			t.Fatal(err)
		}
		if api.HTML != stored {
			t.Errorf("GET /api/v1/guidelines html = %q, want the stored %q", api.HTML, stored)
		}
	})
}

func TestGuidelinesRenderedOncePerMarkupPolicy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()

		// Saved under an older markup policy: its rendering is not served,
		// the Markdown is rendered again, once, and stored for this policy.
		const md = "# Rules\n\nNo *spam*."
		grPut(t, f, models.SettingGuidelines, md)
		oldKey := models.SettingGuidelinesHTML + "_v" + strconv.Itoa(markup.Version-1)
		grPut(t, f, oldKey, "<p>rendered by the older policy</p>")
		if _, ok := grSetting(t, db, grHTMLKey); ok {
			t.Fatalf("a rendering under %q before any read", grHTMLKey)
		}
		got, err := f.svc.HTML(ctx, moderation.GuidelinesDoc)
		if err != nil || got != markup.Render(md) {
			t.Fatalf("GuidelinesHTML = %q, %v; want this policy's rendering %q", got, err, markup.Render(md))
		}
		if stored, ok := grSetting(t, db, grHTMLKey); !ok || stored != got {
			t.Errorf("rendering stored under %q = %q (row: %v), want %q", grHTMLKey, stored, ok, got)
		}

		// Later reads use that stored rendering.
		const stored = "<p>stored for this policy</p>"
		grPut(t, f, grHTMLKey, stored)
		if got, err := f.svc.HTML(ctx, moderation.GuidelinesDoc); err != nil || got != stored {
			t.Errorf("second GuidelinesHTML = %q, %v; want the stored %q", got, err, stored)
		}
	})
}

func TestDefaultGuidelinesRenderedOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *bun.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		got, err := f.svc.HTML(ctx, moderation.GuidelinesDoc)
		if err != nil || !strings.Contains(got, "<h1") || !strings.Contains(got, "Community guidelines") {
			t.Fatalf("GuidelinesHTML with nothing saved = %q, %v; want the default's rendering", got, err)
		}
		if stored, ok := grSetting(t, db, grHTMLKey); !ok || stored != got {
			t.Errorf("default rendering stored = %q (row: %v), want %q", stored, ok, got)
		}
	})
}
