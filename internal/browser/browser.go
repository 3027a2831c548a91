// Package browser runs the user-flow tests in Debian's headless Chromium via
// chromedp. One browser starts per test binary; each test gets its own
// incognito-like browser context, so cookies never leak between tests.
package browser

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"agora/internal/testdb"
)

var (
	once       sync.Once
	browserCtx context.Context
	startErr   error
	stop       context.CancelFunc = func() {}
)

// execPath finds Chromium: AGORA_CHROMIUM, else chromium on PATH.
func execPath() string {
	if p := os.Getenv("AGORA_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Stop closes the shared browser; call it from TestMain after m.Run.
func Stop() { stop() }

// New returns a fresh browser context for t, closed at cleanup, with a
// 60-second budget. It skips (fails under AGORA_REQUIRE_ALL_TESTS=1) when
// Chromium is missing.
func New(t *testing.T) context.Context {
	t.Helper()
	path := execPath()
	if path == "" {
		testdb.Skip(t, "chromium not found (apt-get install chromium); browser tests skipped")
	}
	once.Do(func() {
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(path),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-quic", true),
			chromedp.WindowSize(1280, 900),
			chromedp.UserDataDir(filepath.Join(os.TempDir(), "agora-chromium-"+time.Now().Format("150405.000000"))),
		}
		allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelBrowser := chromedp.NewContext(allocCtx)
		stop = func() { cancelBrowser(); cancelAlloc() }
		// The first Run starts the browser; it must not carry a timeout.
		startErr = chromedp.Do(ctx)
		browserCtx = ctx
	})
	if startErr != nil {
		t.Fatalf("start chromium: %v", startErr)
	}
	tab, cancelTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(func() { cancel(); cancelTab() })
	return ctx
}

// Screenshot saves a full-page PNG as $AGORA_SCREENSHOTS/name.png when that
// variable names a folder; otherwise it does nothing.
func Screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("AGORA_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
