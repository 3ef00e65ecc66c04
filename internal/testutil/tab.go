package testutil

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Tab is a Chromium tab of a browser test, with the few helpers every such test needs; each
// fails the test on error.
type Tab struct {
	T   testing.TB
	Ctx context.Context
}

// NewTab starts Chromium (see Chromium) and bounds everything done in the tab by timeout.
func NewTab(t testing.TB, timeout time.Duration) *Tab {
	t.Helper()
	ctx, cancel := context.WithTimeout(Chromium(t), timeout)
	t.Cleanup(cancel)
	return &Tab{T: t, Ctx: ctx}
}

// Must fails the test on err.
func (b *Tab) Must(err error) {
	b.T.Helper()
	if err != nil {
		b.T.Fatal(err)
	}
}

// Do runs steps in the tab.
func (b *Tab) Do(steps ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	b.Must(chromedp.Do(b.Ctx, steps...))
}

// Text is the text of the first element matching the CSS selector sel.
func (b *Tab) Text(sel string) string {
	b.T.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Text(chromedp.CSS(sel)))
	b.Must(err)
	return s
}

// Location is the tab's current URL.
func (b *Tab) Location() string {
	b.T.Helper()
	s, err := chromedp.Run(b.Ctx, chromedp.Location())
	b.Must(err)
	return s
}

// Shot saves a full-page screenshot as name (see SaveScreenshot).
func (b *Tab) Shot(name string) {
	b.T.Helper()
	png, err := chromedp.Run(b.Ctx, chromedp.FullScreenshot(100))
	b.Must(err)
	SaveScreenshot(b.T, name, png)
}
