package core

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// maxCombining caps combining marks after one base character ("Zalgo"
// text, and the class of terminal bugs such as CVE-2021-27135).
const maxCombining = 3

const zeroWidthJoiner = '\u200d'

// ErrEmpty is returned for text that holds nothing to send.
var ErrEmpty = errors.New("nothing to send")

// CleanMessage validates one line of chat text as it enters the core and
// returns it in NFC. Text that would reach another person's terminal
// unsafely is refused with a reason, never silently altered.
func CleanMessage(s string, maxChars int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("message is not valid UTF-8")
	}
	// Cap the work done on hostile input before normalising it.
	if len(s) > maxChars*utf8.UTFMax {
		return "", fmt.Errorf("message too long: at most %d characters", maxChars)
	}
	s = norm.NFC.String(s)
	if strings.TrimSpace(s) == "" {
		return "", ErrEmpty
	}
	if n := utf8.RuneCountInString(s); n > maxChars {
		return "", fmt.Errorf("message too long: %d characters, at most %d", n, maxChars)
	}
	if err := checkRunes(s, true); err != nil {
		return "", err
	}
	return s, nil
}

// checkRunes enforces an allowlist: graphic characters and plain spaces,
// plus the zero-width joiner inside emoji sequences when allowZWJ is set.
// An allowlist is used because bidi controls and zero-width spaces are
// neither "control" nor "printable" to the unicode package.
func checkRunes(s string, allowZWJ bool) error {
	combining := 0
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r':
			return errors.New("text must be a single line")
		case r == '\t':
			return errors.New("text must not contain tabs")
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return fmt.Errorf("text contains a control character (U+%04X)", r)
		case isBidiControl(r):
			return fmt.Errorf("text contains a bidirectional control (U+%04X)", r)
		case r == zeroWidthJoiner && allowZWJ:
			combining = 0
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) || unicode.Is(unicode.Mc, r):
			combining++
			if combining > maxCombining {
				return fmt.Errorf("text has more than %d combining marks on one character", maxCombining)
			}
		case r == ' ' || unicode.IsGraphic(r):
			combining = 0
		case unicode.Is(unicode.Cf, r):
			return fmt.Errorf("text contains an invisible formatting character (U+%04X)", r)
		default:
			return fmt.Errorf("text contains a character that cannot be shown (U+%04X)", r)
		}
	}
	return nil
}

func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

// Width is the number of terminal cells s occupies.
func Width(s string) int { return uniseg.StringWidth(s) }

// CleanName validates a display name and returns it in NFC.
// Names are one word of letters, digits, marks and "-_.", starting with a
// letter or digit, at most maxCells terminal cells wide.
func CleanName(s string, maxCells int) (string, error) {
	if !utf8.ValidString(s) {
		return "", errors.New("name is not valid UTF-8")
	}
	if len(s) > maxCells*utf8.UTFMax*(maxCombining+1) {
		return "", fmt.Errorf("name too long: at most %d cells", maxCells)
	}
	s = norm.NFC.String(s)
	if s == "" {
		return "", errors.New("name is empty")
	}
	if err := checkRunes(s, false); err != nil {
		return "", fmt.Errorf("invalid name: %w", err)
	}
	if err := checkNickname(s); err != nil {
		return "", err
	}
	for i, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
		case i > 0 && unicode.IsMark(r):
		case i > 0 && strings.ContainsRune("-_.", r):
		case r == ' ':
			return "", errors.New("invalid name: no spaces (try - or _)")
		case i == 0 && strings.ContainsRune("-_.", r):
			return "", fmt.Errorf("invalid name: it must start with a letter or digit, not %q", r)
		default:
			return "", fmt.Errorf("invalid name: %q is not allowed (letters, digits, - _ . only, starting with a letter or digit)", r)
		}
	}
	if w := Width(s); w > maxCells {
		return "", fmt.Errorf("name too long: %d cells, at most %d", w, maxCells)
	}
	if reservedNames[NameKey(s)] {
		return "", fmt.Errorf("the name %q is reserved", s)
	}
	return s, nil
}

var reservedNames = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"parley", "system", "server", "admin", "operator", "everyone", "here", "you", "me"} {
		m[NameKey(n)] = true
	}
	return m
}()

// CleanRoomName validates a room name, with or without its leading "#",
// and returns it lower-cased without the "#".
func CleanRoomName(s string) (string, error) {
	name := strings.ToLower(strings.TrimPrefix(s, "#"))
	if name == "" {
		return "", errors.New("room name is empty")
	}
	if len(name) > maxRoomName {
		return "", fmt.Errorf("room name too long: at most %d characters", maxRoomName)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "", fmt.Errorf("invalid room name %q: use letters, digits, - and _", s)
		}
	}
	return name, nil
}

const maxRoomName = 32

// CleanDescription validates a room description from the config.
func CleanDescription(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	return CleanMessage(s, 200)
}
