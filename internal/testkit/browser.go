package testkit

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// unavailable ends a test that lacks something it needs from the
// machine: a skip, except in CI (CI=true), where it is a failure.
func unavailable(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why + ", and CI=true requires this test")
	}
	t.Skip(why)
}

// browserPath finds the first of names on the PATH, the Debian package
// pkg's browser.
func browserPath(t testing.TB, pkg string, names ...string) string {
	t.Helper()
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	unavailable(t, pkg+" is not installed: the browser tests need it (apt-get install "+pkg+")")
	return ""
}

// chromiumPath finds Debian's Chromium.
func chromiumPath(t testing.TB) string {
	t.Helper()
	return browserPath(t, "chromium", "chromium", "chromium-browser")
}

// Chromium starts one headless Chromium for the test, with a fake camera
// and microphone that pages may use without asking, and loopback allowed
// for WebRTC. Pages opened in it with OpenPage are isolated from each
// other like separate browsers. It ends with the test.
func Chromium(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := chromiumPath(t)
	// Chromium's singleton socket lives in TMPDIR and must fit a Unix
	// socket path, which t.TempDir's long names overflow.
	tmp, err := os.MkdirTemp("", "parley-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(tmp+"/profile"),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("allow-loopback-in-peer-connection", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.WindowSize(1200, 900),
	)
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return bctx
}
