package e2e

import (
	"fmt"
	"strings"
	"testing"

	"parley/core"
	"parley/internal/testkit"
)

// Calls across nodes: a call lives on its caller's node, and its
// signaling reaches a party on another node through the cluster.

// A browser on node a calls a browser on node c, and each decodes the
// other's video.
func TestBrowsersOnTwoNodesCall(t *testing.T) {
	nodes := startCluster(t, 3, core.DefaultConfig())
	a, c := nodes[0], nodes[2]
	browser := testkit.Chromium(t)
	ann := testkit.OpenPage(t, browser, "ann on a", a.url)
	ann.Code()
	cid := testkit.OpenPage(t, browser, "cid on c", c.url)
	cidCode := cid.Code()
	cidName := cid.Text("me-name")

	ann.Say("/join " + cidCode)
	ann.WaitJS("the private chat", fmt.Sprintf(`document.getElementById('conv-title').textContent === %q`, cidName))
	ann.Click("call-button")
	ann.WaitCallState("ringing-out")
	cid.WaitCallState("ringing-in")
	cid.Click("call-accept")
	testkit.WaitVideo(t, ann, cid)

	cid.Click("call-hangup")
	ann.WaitCallState("ended")
	if got := ann.EndedText(); !strings.Contains(got, cidName+" hung up") {
		t.Fatalf("the caller on a was told %q", got)
	}
}

// A terminal user on node a calls a browser on node c; the one-time link
// opened through node b's web side carries the terminal user's side, and
// works once in the whole cluster.
func TestATerminalsLinkOpensOnceOnAnotherNode(t *testing.T) {
	nodes := startCluster(t, 3, core.DefaultConfig())
	a, b, c := nodes[0], nodes[1], nodes[2]
	term := testkit.Dial(t, a.sshAddr, "tess", 120, 50)
	term.Code()
	browser := testkit.Chromium(t)
	web := testkit.OpenPage(t, browser, "web on c", c.url)
	web.Code()
	webName := web.Text("me-name")
	web.Say("/join " + term.Code())
	term.WaitFor(webName + " opened a private chat with you")
	term.TypeLine("/switch " + webName)

	term.TypeLine("/video")
	link := callLink(term)
	fragment := link[strings.Index(link, "/#call="):]
	web.WaitCallState("ringing-in")
	web.Click("call-accept")
	phone := testkit.OpenPage(t, browser, "tess's phone on b", b.url+fragment)
	testkit.WaitVideo(t, web, phone)
	if got := phone.Text("me-name"); got != "tess" {
		t.Fatalf("the link page stands for %q", got)
	}

	// Used once, cluster-wide: neither b nor a opens it again.
	for _, n := range []*clusterNode{b, a} {
		again := testkit.OpenPage(t, browser, "second visit on "+n.name, n.url+fragment)
		again.WaitJS("a refusal", `document.getElementById('call-text').textContent.includes('not valid')`)
	}

	web.Click("call-hangup")
	phone.WaitCallState("ended")
	term.WaitFor(webName + " hung up")
}
