package testkit

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed firefox.cjs
var firefoxDriver []byte

// FirefoxPage is the web client in a headless Firefox (Debian's
// firefox-esr), driven by a small Node script over WebDriver BiDi.
type FirefoxPage struct {
	t    testing.TB
	Name string
	mu   sync.Mutex // one expression at a time
	in   io.Writer
	out  *bufio.Scanner
	errs *Buffer // what the driver and the page wrote to stderr
}

// needDefaultRoute fails (CI) or skips the test when no interface but
// loopback has a default route: Firefox gathers no UDP ICE candidate on
// loopback, so two browsers on such a machine find no path.
func needDefaultRoute(t testing.TB) {
	t.Helper()
	// Dialing UDP only looks the route up; nothing is sent.
	c, err := net.Dial("udp", "198.51.100.1:9")
	if err == nil {
		defer c.Close()
		if a, ok := c.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsLoopback() {
			return
		}
	}
	unavailable(t, "Firefox needs an interface with a default route to gather ICE candidates, and this machine has none but loopback")
}

// OpenFirefox starts Firefox with a fake camera and microphone on url. It
// ends with the test.
func OpenFirefox(t testing.TB, name, url string) *FirefoxPage {
	t.Helper()
	browser := browserPath(t, "firefox-esr", "firefox-esr", "firefox")
	needDefaultRoute(t)
	modules := NodeModules(t, "puppeteer-core")
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to drive Firefox: ", err)
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "firefox.cjs")
	if err := os.WriteFile(script, firefoxDriver, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, url)
	cmd.Env = append(os.Environ(), "PARLEY_NODE_MODULES="+modules, "FIREFOX="+browser, "TMPDIR="+dir)
	p := &FirefoxPage{t: t, Name: name, errs: &Buffer{}}
	cmd.Stderr = p.errs
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		in.Close() // the driver closes Firefox at the end of its input
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	p.in, p.out = in, bufio.NewScanner(out)
	p.out.Buffer(nil, 1<<20)
	var ready struct{ Ready bool }
	if !p.read(&ready) || !ready.Ready {
		t.Fatalf("%s: Firefox did not start:\n%s", name, p.stderr())
	}
	return p
}

func (p *FirefoxPage) stderr() string {
	s := p.errs.String()
	if len(s) > 4000 {
		s = "…" + s[len(s)-4000:]
	}
	return s
}

func (p *FirefoxPage) read(v any) bool {
	if !p.out.Scan() {
		return false
	}
	return json.Unmarshal(p.out.Bytes(), v) == nil
}

// eval evaluates a JavaScript expression (awaiting a promise) in the page.
func (p *FirefoxPage) eval(expr string) (json.RawMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := fmt.Fprintln(p.in, strings.ReplaceAll(expr, "\n", " ")); err != nil {
		return nil, err
	}
	var res struct {
		Value json.RawMessage
		Error string
	}
	if !p.read(&res) {
		return nil, fmt.Errorf("the Firefox driver stopped:\n%s", p.stderr())
	}
	if res.Error != "" {
		return nil, fmt.Errorf("%s", res.Error)
	}
	return res.Value, nil
}

// Decode evaluates expr and decodes its value into v.
func (p *FirefoxPage) Decode(expr string, v any) {
	p.t.Helper()
	raw, err := p.eval(expr)
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		p.t.Fatalf("%s: evaluating %s: %v", p.Name, expr, err)
	}
}

// WaitJS waits until a JavaScript expression (or its promise) is truthy.
func (p *FirefoxPage) WaitJS(what, expr string) {
	p.t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for {
		var ok bool
		raw, err := p.eval("Promise.resolve(" + expr + ").then(v => !!v)")
		if err == nil {
			err = json.Unmarshal(raw, &ok)
		}
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			var state string
			if raw, err := p.eval(debugStateJS); err == nil {
				state = string(raw)
			}
			p.t.Fatalf("%s: waiting for %s: %v\npage state: %s\nFirefox said:\n%s", p.Name, what, err, state, p.stderr())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (p *FirefoxPage) String() string { return p.Name }
