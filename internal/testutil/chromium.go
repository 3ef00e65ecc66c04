package testutil

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPaths are where Debian and others install the browser.
var chromiumPaths = []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"}

// ChromiumPath returns the Chromium executable, "" if none is installed.
func ChromiumPath() string {
	for _, p := range chromiumPaths {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// Chromium starts a headless Chromium for the test and returns a chromedp context on a new tab;
// the browser is stopped when the test ends. Without Chromium the test is skipped, or fails
// when CI=true. The window is 1280×800, a laptop screen.
func Chromium(t testing.TB) context.Context {
	t.Helper()
	path := ChromiumPath()
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found (apt-get install chromium)")
		}
		t.Skip("skipping: chromium not found")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx)
	// Start the browser now, so a broken install fails here and not in the first action. The
	// first run's context is the browser's lifetime, so a watchdog, not a timeout, bounds it.
	watchdog := time.AfterFunc(60*time.Second, cancelAlloc)
	err := chromedp.Do(ctx)
	watchdog.Stop()
	if err != nil {
		cancelTab()
		cancelAlloc()
		t.Fatalf("start chromium %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// SaveScreenshot writes png to $GOHUB_SCREENSHOTS/name when that variable is set; the
// directory is created if needed.
func SaveScreenshot(t testing.TB, name string, png []byte) {
	t.Helper()
	dir := os.Getenv("GOHUB_SCREENSHOTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatalf("save screenshot: %v", err)
	}
}
