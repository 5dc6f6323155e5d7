package archtest

import (
	"bufio"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// graph holds the project's own imports per package, and its imports of
// the modules the rules name (watched): those of its code, and those of
// its tests (which count only for the package itself, as in
// `go list -deps -test`).
type graph struct {
	code, tests map[string][]string
}

// rule names a package and what it must not reach, directly or not.
type rule struct {
	pkg       string
	forbidden func(dep string) bool
	why       string
}

func rules(module string) []rule {
	under := func(names ...string) func(string) bool {
		return func(dep string) bool {
			for _, n := range names {
				p := module + "/" + n
				if dep == p || strings.HasPrefix(dep, p+"/") {
					return true
				}
			}
			return false
		}
	}
	nats := func(dep string) bool { return strings.HasPrefix(dep, natsModules) }
	return []rule{
		{module + "/core", under("sshui", "webrtc-signal", "admin", "config", "static", "cmd"), "the core never imports a transport, the admin side or the configuration"},
		{module + "/core", func(dep string) bool { return under("cluster")(dep) || nats(dep) }, "the core never imports the cluster or NATS: a cluster implements the core's Log and Directory"},
		{module + "/sshui", under("webrtc-signal"), "transports never import each other"},
		{module + "/webrtc-signal", under("sshui"), "transports never import each other"},
		{module + "/sshui", under("cluster"), "transports never import the cluster: they talk to the core"},
		{module + "/webrtc-signal", under("cluster"), "transports never import the cluster: they talk to the core"},
		{module + "/cluster", under("sshui", "webrtc-signal", "admin", "config", "cmd"), "the cluster takes plain settings and serves the core, nothing else"},
		{module + "/sshui/tui", func(dep string) bool { return dep == module+"/sshui" || sshLibrary(dep) }, "the terminal UI draws a core session on any terminal: it knows nothing of SSH"},
		{module + "/static", func(string) bool { return true }, "the browser client imports nothing of the project"},
	}
}

// natsModules starts the import paths of NATS, which only the cluster uses.
const natsModules = "github.com/nats-io/"

// sshLibraries start the import paths of the SSH libraries, which only the
// SSH server uses.
var sshLibraries = []string{"golang.org/x/crypto/ssh", "github.com/charmbracelet/ssh", "github.com/charmbracelet/wish"}

func sshLibrary(dep string) bool {
	return slices.ContainsFunc(sshLibraries, func(p string) bool { return dep == p || strings.HasPrefix(dep, p+"/") })
}

// reach lists every project package pkg depends on, with its tests.
func (g graph) reach(pkg string) []string {
	seen := map[string]bool{}
	queue := append(slices.Clone(g.code[pkg]), g.tests[pkg]...)
	for len(queue) > 0 {
		dep := queue[0]
		queue = queue[1:]
		if seen[dep] || dep == pkg {
			continue
		}
		seen[dep] = true
		queue = append(queue, g.code[dep]...)
	}
	deps := make([]string, 0, len(seen))
	for dep := range seen {
		deps = append(deps, dep)
	}
	slices.Sort(deps)
	return deps
}

// violations lists every broken rule.
func (g graph) violations(rules []rule) []string {
	var bad []string
	for _, r := range rules {
		for _, dep := range g.reach(r.pkg) {
			if r.forbidden(dep) {
				bad = append(bad, fmt.Sprintf("%s reaches %s: %s", r.pkg, dep, r.why))
			}
		}
	}
	return bad
}

// moduleRoot walks up from the working directory to go.mod.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		f, err := os.Open(filepath.Join(dir, "go.mod"))
		if err == nil {
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if m, ok := strings.CutPrefix(sc.Text(), "module "); ok {
					return dir, strings.TrimSpace(m)
				}
			}
			t.Fatalf("%s/go.mod names no module", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// readGraph parses the imports of every Go file in the module.
func readGraph(t *testing.T, root, module string) graph {
	t.Helper()
	g := graph{code: map[string][]string{}, tests: map[string][]string{}}
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		pkg := module
		if rel != "." {
			pkg += "/" + filepath.ToSlash(rel)
		}
		into := g.code
		if strings.HasSuffix(name, "_test.go") {
			into = g.tests
		}
		if into[pkg] == nil {
			into[pkg] = []string{}
		}
		for _, imp := range f.Imports {
			p, err := strconv.Unquote(imp.Path.Value)
			if err != nil {
				return err
			}
			own := p == module || strings.HasPrefix(p, module+"/")
			if (own || strings.HasPrefix(p, natsModules) || sshLibrary(p)) && !slices.Contains(into[pkg], p) {
				into[pkg] = append(into[pkg], p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestImportRules(t *testing.T) {
	root, module := moduleRoot(t)
	g := readGraph(t, root, module)
	for _, r := range rules(module) {
		if g.code[r.pkg] == nil {
			t.Errorf("package %s is gone: the rule about it checks nothing", r.pkg)
		}
	}
	for _, v := range g.violations(rules(module)) {
		t.Error(v)
	}
}

// The checker itself finds a transport reached through another package
// and through a test file, and an SSH library reached by the terminal UI.
func TestImportRulesCatchIndirectReach(t *testing.T) {
	g := graph{
		code: map[string][]string{
			"m/core":          {"m/textutil", "m/wire"},
			"m/wire":          {"github.com/nats-io/nats.go"},
			"m/textutil":      {"m/sshui"},
			"m/sshui":         {"m/core"},
			"m/webrtc-signal": {"m/core", "m/static"},
			"m/static":        {},
			"m/sshui/tui":     {"github.com/charmbracelet/ssh"},
		},
		tests: map[string][]string{"m/webrtc-signal": {"m/e2ehelp"}},
	}
	g.code["m/e2ehelp"] = []string{"m/sshui"}
	got := g.violations(rules("m"))
	want := []string{
		"m/core reaches m/sshui: the core never imports a transport, the admin side or the configuration",
		"m/core reaches github.com/nats-io/nats.go: the core never imports the cluster or NATS: a cluster implements the core's Log and Directory",
		"m/webrtc-signal reaches m/sshui: transports never import each other",
		"m/sshui/tui reaches github.com/charmbracelet/ssh: the terminal UI draws a core session on any terminal: it knows nothing of SSH",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("violations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
