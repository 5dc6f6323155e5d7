package testkit

// Key is what a terminal sends for one key press.
type Key string

// The keys the tests press.
const (
	Enter Key = "\r"
	Tab   Key = "\t"
	Esc   Key = "\x1b"
	Up    Key = "\x1b[A"
	Down  Key = "\x1b[B"
	PgUp  Key = "\x1b[5~"
	PgDn  Key = "\x1b[6~"
	F1    Key = "\x1bOP"
	F2    Key = "\x1bOQ"
	CtrlC Key = "\x03"
	CtrlN Key = "\x0e"
	CtrlU Key = "\x15"
)

// Alt is Alt with another key, as xterm sends it: Esc first.
func Alt(r rune) Key { return Esc + Key(string(r)) }
