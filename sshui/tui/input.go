package tui

import (
	"fmt"
	"sort"
	"strings"

	"parley/core"
)

// completion remembers the candidates of a Tab press, so that the next
// Tab moves to the following one.
type completion struct {
	head  string // the line before the completed word
	cands []string
	idx   int
}

// complete completes the word before the end of the input: a command
// when it is the first word and starts with / or :, a room when it
// starts with #, else a name from the conversation on screen.
func (m *Model) complete() {
	if m.comp != nil && len(m.comp.cands) > 1 {
		m.comp.idx = (m.comp.idx + 1) % len(m.comp.cands)
		in := m.editor()
		in.SetValue(m.comp.head + m.comp.cands[m.comp.idx])
		in.CursorEnd()
		return
	}
	line := m.typed()
	cut := strings.LastIndex(line, " ") + 1
	head, word := line[:cut], line[cut:]
	var cands []string
	switch {
	case head == "" && (strings.HasPrefix(word, "/") || strings.HasPrefix(word, ":")):
		cands = commandCandidates(m.cs.Commands(), word)
	case strings.HasPrefix(word, "#"):
		cands = m.roomCandidates(word)
	default:
		cands = m.nameCandidates(word)
	}
	if len(cands) == 0 {
		m.setStatus("no completion for "+word, false)
		return
	}
	m.comp = &completion{head: head, cands: cands}
	in := m.editor()
	in.SetValue(head + cands[0])
	in.CursorEnd()
	if len(cands) > 1 {
		m.setStatus(strings.Join(cands, "  "), false)
	}
}

func commandCandidates(cmds []core.Command, word string) []string {
	w := strings.ToLower(word)
	var out []string
	for _, c := range cmds {
		for _, spelling := range append([]string{"/" + c.Name}, c.Aliases...) {
			if strings.HasPrefix(spelling, w) {
				if c.Args != "" {
					spelling += " "
				}
				out = append(out, spelling)
			}
		}
	}
	sort.Strings(out)
	return out
}

// nameCandidates lists the names in the conversation on screen that
// start with word (an "@" is kept).
func (m *Model) nameCandidates(word string) []string {
	at := strings.HasPrefix(word, "@")
	prefix := strings.ToLower(strings.TrimPrefix(word, "@"))
	var names []string
	if m.viewing != "" {
		for _, mem := range m.cs.Members(m.viewing) {
			names = append(names, mem.Name)
		}
	}
	var out []string
	for _, n := range names {
		if n != m.name && strings.HasPrefix(strings.ToLower(n), prefix) {
			if at {
				n = "@" + n
			}
			out = append(out, n+" ")
		}
	}
	sort.Strings(out)
	return out
}

// roomCandidates lists the listed rooms and the user's own that start
// with word, a "#" and the start of a name.
func (m *Model) roomCandidates(word string) []string {
	prefix := strings.ToLower(word)
	seen := map[string]bool{}
	var out []string
	add := func(room string) {
		if !seen[room] && strings.HasPrefix(strings.ToLower(room), prefix) {
			seen[room] = true
			out = append(out, room+" ")
		}
	}
	for _, r := range m.cs.Rooms() {
		add(r.Name)
	}
	for _, id := range m.order {
		if strings.HasPrefix(id, "#") {
			add(id)
		}
	}
	sort.Strings(out)
	return out
}

const helpTitle = "Help"

// helpLines is the help screen: the keys, then every command from the
// core's registry that the user may use (cmds).
func helpLines(cmds []core.Command) []string {
	lines := []string{
		"Keys",
		"  Enter            send the line (on the home screen: open the chosen item)",
		"  Tab              complete a command, a #room or a name; Tab again for the next",
		"  ↑ / ↓            input history (on the home screen: choose an item)",
		"  PgUp / PgDn      scroll the conversation; new messages do not move you",
		"  Ctrl-N / Ctrl-P  next / previous conversation      Alt-1…9  conversation N",
		"  Esc, :q          home screen (or close this panel)  F2  members panel",
		"  F1 (? at home)   this help                          Ctrl-C  quit",
		"  /bell on|off     ring for mentions and private messages (on)",
		"",
		"The mouse is left to your terminal, so you can select and copy text.",
		"",
		"Commands",
	}
	for _, c := range cmds {
		if c.Operator {
			lines[len(lines)-1] = "Commands — you are an operator (@: operator commands)"
			break
		}
	}
	for _, c := range cmds {
		syn := "/" + c.Name
		if c.Args != "" {
			syn += " " + c.Args
		}
		if len(c.Aliases) > 0 {
			syn += " (" + strings.Join(c.Aliases, " ") + ")"
		}
		mark := "  "
		if c.Operator {
			mark = "@ "
		}
		lines = append(lines, fmt.Sprintf("%s%-44s %s", mark, syn, c.Help))
	}
	return lines
}
