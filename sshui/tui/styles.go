package tui

import (
	"hash/fnv"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// styles are built for one colour profile, so colours follow each
// client's terminal and never the server's own stdout. Sessions with the
// same profile share them: they are only read.
type styles struct {
	header    lipgloss.Style
	brand     lipgloss.Style
	dim       lipgloss.Style
	system    lipgloss.Style
	time      lipgloss.Style
	mention   lipgloss.Style
	action    lipgloss.Style
	title     lipgloss.Style
	selected  lipgloss.Style
	errorLine lipgloss.Style
	notice    lipgloss.Style
	unread    lipgloss.Style
	ended     lipgloss.Style
	sep       string // the column separator, styled once
	profile   termenv.Profile
	names     []lipgloss.Style
	plain     lipgloss.Style
}

// nameColors is a 256-colour palette readable on dark backgrounds.
var nameColors = []string{"39", "45", "76", "82", "118", "154", "178", "208", "203", "198", "171", "135", "99", "69", "141", "214"}

var (
	stylesMu  sync.Mutex
	byProfile = map[termenv.Profile]*styles{}
)

// stylesFor returns the shared styles of a colour profile. Their renderer
// never queries a terminal: the profile is set and the background is
// assumed dark.
func stylesFor(p termenv.Profile) *styles {
	stylesMu.Lock()
	defer stylesMu.Unlock()
	if st := byProfile[p]; st != nil {
		return st
	}
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(p)
	r.SetHasDarkBackground(true)
	st := newStyles(r)
	byProfile[p] = st
	return st
}

func newStyles(r *lipgloss.Renderer) *styles {
	st := &styles{
		header:    r.NewStyle().Background(lipgloss.Color("236")).Foreground(lipgloss.Color("252")),
		brand:     r.NewStyle().Background(lipgloss.Color("62")).Foreground(lipgloss.Color("231")).Bold(true),
		dim:       r.NewStyle().Foreground(lipgloss.Color("244")),
		system:    r.NewStyle().Foreground(lipgloss.Color("243")).Italic(true),
		time:      r.NewStyle().Foreground(lipgloss.Color("240")),
		mention:   r.NewStyle().Foreground(lipgloss.Color("229")).Background(lipgloss.Color("58")).Bold(true),
		action:    r.NewStyle().Italic(true),
		title:     r.NewStyle().Bold(true).Underline(true),
		selected:  r.NewStyle().Reverse(true),
		errorLine: r.NewStyle().Foreground(lipgloss.Color("203")).Bold(true),
		notice:    r.NewStyle().Foreground(lipgloss.Color("114")),
		unread:    r.NewStyle().Foreground(lipgloss.Color("220")).Bold(true),
		ended:     r.NewStyle().Foreground(lipgloss.Color("241")).Strikethrough(true),
		plain:     r.NewStyle(),
		profile:   r.ColorProfile(),
	}
	st.sep = r.NewStyle().Foreground(lipgloss.Color("238")).Render("│")
	for _, c := range nameColors {
		st.names = append(st.names, r.NewStyle().Foreground(lipgloss.Color(c)).Bold(true))
	}
	return st
}

// nameStyle gives each name the same colour for everyone, every time.
func (st *styles) nameStyle(name string) lipgloss.Style {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(name)))
	return st.names[h.Sum32()%uint32(len(st.names))]
}

// SafeText replaces anything a terminal would interpret. The core
// already refuses such text; this keeps the rule local to the one place
// that writes to terminals, so only our own styles emit escapes.
func SafeText(s string) string {
	clean := utf8.ValidString(s)
	for _, r := range s {
		if isUnsafeRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isUnsafeRune(r) {
			return '\uFFFD'
		}
		return r
	}, s)
}

func isUnsafeRune(r rune) bool {
	return r < 0x20 || (r >= 0x7f && r <= 0x9f)
}
