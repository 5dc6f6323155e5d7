package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"parley/config"
	"parley/core"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// between returns the text between two marker comments of the README.
func between(t *testing.T, doc, name string) string {
	t.Helper()
	begin, end := "<!-- "+name+" -->\n", "<!-- /"+name+" -->"
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("README has no %q…%q section", begin, end)
	}
	return doc[i+len(begin) : j]
}

// The README's command table is the core's command registry.
func TestReadmeListsEveryCommand(t *testing.T) {
	var b strings.Builder
	b.WriteString("| command | also | what it does |\n| --- | --- | --- |\n")
	for _, c := range core.Commands() {
		syn := "/" + c.Name
		if c.Args != "" {
			syn += " " + c.Args
		}
		aliases := make([]string, len(c.Aliases))
		for i, a := range c.Aliases {
			aliases[i] = "`" + a + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", strings.ReplaceAll(syn, "|", `\|`), strings.Join(aliases, " "), c.Help)
	}
	if got := between(t, readme(t), "commands"); got != b.String() {
		t.Fatalf("the README's command table is out of date; it should read:\n%s", b.String())
	}
}

// The README's limit table has one row per [limits] key, with its default.
func TestReadmeListsEveryLimit(t *testing.T) {
	var doc struct{ Limits map[string]any }
	if _, err := toml.Decode(config.DefaultFile(), &doc); err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| `([^`]*)` \\|").FindAllStringSubmatch(between(t, readme(t), "limits"), -1)
	documented := map[string]string{}
	for _, r := range rows {
		documented[r[1]] = r[2]
	}
	for key, v := range doc.Limits {
		want := fmt.Sprint(v)
		if list, ok := v.([]any); ok {
			want = strings.Trim(fmt.Sprint(list), "[]")
			want = strings.ReplaceAll(want, " ", ", ")
		}
		got, ok := documented[key]
		switch {
		case !ok:
			t.Errorf("the README does not document limits.%s", key)
		case got != want:
			t.Errorf("the README gives limits.%s a default of %q, the default file %q", key, got, want)
		}
	}
	if len(documented) != len(doc.Limits) {
		t.Errorf("the README documents %d limits, the default file has %d", len(documented), len(doc.Limits))
	}
}

// Every TOML example of the README is a valid config file.
func TestReadmeConfigExamplesAreValid(t *testing.T) {
	blocks := regexp.MustCompile("(?s)```toml\n(.*?)```").FindAllStringSubmatch(readme(t), -1)
	if len(blocks) == 0 {
		t.Fatal("the README shows no config file")
	}
	for _, b := range blocks {
		if _, err := config.Parse("README example", []byte(b[1])); err != nil {
			t.Errorf("%v\nin:\n%s", err, b[1])
		}
	}
}

// The README gives the two set-up commands exactly, and CI runs the same
// test command.
func TestReadmeGivesTheSetupCommands(t *testing.T) {
	doc := readme(t)
	for _, cmd := range []string{"go run ./cmd/parley", "go test -race ./...", "ssh -p 2222 localhost"} {
		if !strings.Contains(doc, "\n"+cmd+"\n") {
			t.Errorf("the README does not give %q on a line of its own", cmd)
		}
	}
	ci, err := os.ReadFile("../../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\ngo test -race ./...\n") {
		t.Error("CI does not run the README's test command")
	}
}

// The README names only flags and variables that exist, and names them
// all.
func TestReadmeNamesEverySettingAndNoOther(t *testing.T) {
	doc := readme(t)
	flags := map[string]bool{"version": true, "help": true, "print-default-config": true, "check-config": true}
	vars := map[string]bool{}
	for _, s := range settingFlags {
		if !s.envOnly {
			flags[s.name] = true
		}
		vars[envName(s.name)] = true
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`--([a-z][a-z-]*)").FindAllStringSubmatch(doc, -1) {
		named["--"+m[1]] = true
		if !flags[m[1]] {
			t.Errorf("the README names --%s, which is no flag", m[1])
		}
	}
	for _, m := range regexp.MustCompile(`PARLEY_[A-Z_]*[A-Z]`).FindAllString(doc, -1) {
		named[m] = true
		if !vars[m] {
			t.Errorf("the README names %s, which is no variable", m)
		}
	}
	for f := range flags {
		if !named["--"+f] {
			t.Errorf("the README does not name --%s", f)
		}
	}
	for v := range vars {
		if !named[v] {
			t.Errorf("the README does not name %s", v)
		}
	}
}
