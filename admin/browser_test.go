package admin

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a Chromium to drive. Without one the browser test is
// skipped on a workstation and fails in CI.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: CI must install it (apt-get install -y chromium)")
	}
	t.Skip("no chromium on PATH: install it (apt-get install -y chromium) to run the browser test")
	return ""
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
	})
	return ctx
}

// waitLine waits until the monitor's feed shows a line containing text.
func waitLine(text string) chromedp.Action[chromedp.Void] {
	return chromedp.WaitVisible(`//ol[@id="feed"]/li[contains(., "` + text + `")]`)
}

func TestMonitorPageInChromium(t *testing.T) {
	f := newFixture(t, Options{Token: testToken})
	ctx := newBrowser(t)

	// Signing in through the form, then the page goes live.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(f.url+"/monitor"),
		chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), testToken),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS(`body[data-state="live"]`)),
	); err != nil {
		t.Fatalf("signing in and opening the monitor: %v", err)
	}

	// A join that happens after the page loaded shows up.
	late := f.connect(t, "latecomer", "web")
	if err := chromedp.Do(ctx, waitLine("latecomer joined #lobby")); err != nil {
		t.Fatalf("the join never showed: %v", err)
	}

	// A private chat shows as a notice; its words and the codes never do.
	alice := f.connect(t, "alice", "ssh")
	if err := alice.Input("/join " + late.Code()); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("whisper only for latecomer"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Switch("#lobby"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Input("<img src=x> public after private"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		waitLine("public after private"),
		chromedp.Poll[chromedp.Void](`document.getElementById("users").textContent === "2" && document.getElementById("private-chats").textContent === "1"`),
	); err != nil {
		t.Fatalf("the room message or the counts never showed: %v", err)
	}
	page, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"a private chat was opened", "#lobby <alice> <img src=x> public after private", "latecomer connected (web)"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q:\n%s", want, page)
		}
	}
	for _, secret := range []string{"whisper", alice.Code(), late.Code()} {
		if strings.Contains(page, secret) {
			t.Errorf("the page shows %q:\n%s", secret, page)
		}
	}
	if images, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.images.length`)); err != nil || images != 0 {
		t.Errorf("message text became markup: %d images (%v)", images, err)
	}
}
