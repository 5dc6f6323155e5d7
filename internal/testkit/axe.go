package testkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// NodeModules is the node_modules folder of the npm packages the browser
// tests use (axe-core, puppeteer-core), from PARLEY_NODE_MODULES, which
// .ci/run sets. Without it the tests that need them skip, except in CI
// (CI=true), where that is a failure.
func NodeModules(t testing.TB, pkg string) string {
	t.Helper()
	dir := os.Getenv("PARLEY_NODE_MODULES")
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, pkg, "package.json")); err == nil {
			return dir
		}
	}
	unavailable(t, "npm package "+pkg+" not found: set PARLEY_NODE_MODULES to a node_modules folder that has it (.ci/run does)")
	return ""
}

// Axe runs the axe-core accessibility checks on the page as it is now and
// returns the serious and critical violations, one line each.
func Axe(t testing.TB, p *Page) []string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(NodeModules(t, "axe-core"), "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	// Evaluated through the debugging protocol, the script is not subject
	// to the page's Content-Security-Policy.
	Eval[bool](p, string(src)+";true")
	return Eval[[]string](p, `axe.run(document, { resultTypes: ['violations'] }).then(r => r.violations
		.filter(v => v.impact === 'serious' || v.impact === 'critical')
		.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ') + (n.failureSummary ? ' (' + n.failureSummary.replace(/\s+/g, ' ') + ')' : '')).join('; ')))`)
}

// NoAxeViolations fails the test with the page's serious and critical
// accessibility violations in the state named by what.
func NoAxeViolations(t testing.TB, p *Page, what string) {
	t.Helper()
	if v := Axe(t, p); len(v) > 0 {
		t.Errorf("%s, %s: %d accessibility violations:\n%s", p.Name, what, len(v), strings.Join(v, "\n"))
	}
}
