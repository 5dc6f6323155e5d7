package e2e

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"parley/core"
	"parley/internal/testkit"
)

// balancer is a load balancer in front of the nodes' web sides, without
// affinity: it sends every new request, WebSocket or not, to the node a
// test points it at.
type balancer struct {
	url    string
	target atomic.Pointer[url.URL]

	mu    sync.Mutex
	conns []net.Conn // from browsers
}

func startBalancer(t *testing.T, first string) *balancer {
	t.Helper()
	b := &balancer{}
	b.to(t, first)
	proxy := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(b.target.Load())
		r.Out.Host = r.In.Host // the page's origin is the balancer's
	}}
	ln := testkit.Listen(t)
	srv := &http.Server{Handler: proxy, ConnState: func(c net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.mu.Lock()
			b.conns = append(b.conns, c)
			b.mu.Unlock()
		}
	}}
	testkit.Serve(t, ln, srv.Serve, srv.Shutdown)
	b.url = "http://" + ln.Addr().(*net.TCPAddr).String()
	return b
}

// dropAll cuts every browser's connection, as the death of the node
// behind them does.
func (b *balancer) dropAll() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.conns {
		c.Close()
	}
	b.conns = nil
}

func (b *balancer) to(t *testing.T, node string) {
	t.Helper()
	u, err := url.Parse(node)
	if err != nil {
		t.Fatal(err)
	}
	b.target.Store(u)
}

// pageInPrivateChat opens a page through lb, and a terminal, carol, on the
// node at sshAddr, who opens a private chat with the page by its code; the
// page shows the chat and carol's first line.
func pageInPrivateChat(t *testing.T, lb *balancer, sshAddr string) (web *testkit.Page, carol *testkit.Term, code, name string) {
	t.Helper()
	web = testkit.OpenPage(t, testkit.Chromium(t), "web", lb.url)
	code, name = web.Code(), web.Text("me-name")
	carol = testkit.Dial(t, sshAddr, "carol", 120, 40)
	carol.WaitFor(name + " joined")
	carol.TypeLine("/join " + code)
	web.WaitJS("the private chat", `document.querySelectorAll('#convs li[data-conv^="@"]').length === 1`)
	web.ClickCSS(`#convs li[data-conv^="@"]`)
	carol.TypeLine("before the move")
	web.WaitLog("before the move")
	return web, carol, code, name
}

// A browser behind a balancer without affinity reloads and lands on
// another node: it is the same person there, with its code, name and
// private chat still on screen, and the terminal user it chats with sees
// no leave and goes on chatting with it.
func TestReloadOnAnotherNodeResumesTheSameUser(t *testing.T) {
	nodes := startCluster(t, 2, core.DefaultConfig())
	a, b := nodes[0], nodes[1]
	lb := startBalancer(t, a.url)
	web, carol, code, name := pageInPrivateChat(t, lb, b.sshAddr)

	lb.to(t, b.url)
	web.Do(chromedp.Reload())
	if got := web.Code(); got != code {
		t.Fatalf("after a reload onto node b the code is %s, was %s", got, code)
	}
	if got := web.Text("me-name"); got != name {
		t.Fatalf("after a reload onto node b the name is %q, was %q", got, name)
	}
	web.WaitJS("the private chat kept, and still on screen", `document.querySelector('#convs li.current')?.dataset.conv.startsWith('@')`)
	web.WaitLog("before the move")
	carol.TypeLine("after the reload")
	web.WaitLog("after the reload")
	web.Say("hello from node b")
	carol.WaitFor("hello from node b")
	if s := carol.Screen(); strings.Contains(s, name+" left") {
		t.Fatalf("carol saw %s leave:\n%s", name, s)
	}
}

// A browser whose node dies comes back through another node before the
// dead node's users are ended: it stays the same person, in the same
// private chat, and outlives the end of its first node's users, its name
// still its own.
func TestBrowserOfAKilledNodeComesBackThroughAnother(t *testing.T) {
	// A node_ttl long enough for the page to reconnect first on a busy
	// machine; the page tries again about a second after the drop.
	nodes := startClusterTTL(t, 2, core.DefaultConfig(), 20*time.Second)
	a, b := nodes[0], nodes[1]
	lb := startBalancer(t, a.url)
	web, carol, code, name := pageInPrivateChat(t, lb, b.sshAddr)
	carol.TypeLine("/switch #lobby")
	dora := testkit.Dial(t, a.sshAddr, "dora", 120, 40)
	carol.WaitFor("dora joined")

	lb.to(t, b.url)
	a.node.Halt()
	lb.dropAll()
	carol.TypeLine("/switch @" + name)
	carol.TypeLine("after the crash")
	// The node that knew which conversation the page was in is gone: the
	// line may arrive in a conversation not on screen, counted unread.
	web.WaitJS("the line after the crash, shown or counted", `(() => {
		const li = [...document.querySelectorAll('#convs li')].find(li => li.dataset.conv.startsWith('@'));
		const n = li && li.querySelector('.count');
		return (n && n.textContent === '1') || [...document.querySelectorAll('#log li')].some(li => li.textContent.includes('after the crash'));
	})()`)
	web.ClickCSS(`#convs li[data-conv^="@"]`)
	web.WaitLog("after the crash")
	web.Say("back through node b")
	carol.WaitFor("back through node b")
	if got := web.Code(); got != code {
		t.Fatalf("after its node died the page's code is %s, was %s", got, code)
	}

	carol.TypeLine("/switch #lobby")
	carol.WaitFor("dora left (connection lost)")
	dora.Close()
	carol.TypeLine("/list")
	carol.WaitUntil("the web user in /list", func(s string) bool {
		return strings.Contains(s, "2 in #lobby") && strings.Contains(s, name+"  [web")
	})
	carol.Press(testkit.Esc)
	again := testkit.Dial(t, b.sshAddr, name, 120, 40)
	if header := again.WaitFor("· code"); strings.Contains(header, " "+name+" · code") {
		t.Fatalf("a new user on b was given the web user's name %q:\n%s", name, header)
	}
	carol.TypeLine("/switch @" + name)
	carol.TypeLine("after the reaping")
	web.WaitLog("after the reaping")
	if s := carol.Screen(); strings.Contains(s, name+" left") {
		t.Fatalf("carol saw %s leave:\n%s", name, s)
	}
}
