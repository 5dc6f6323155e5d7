package core

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/ergochat/confusables"
	"golang.org/x/text/cases"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// checkNickname refuses the characters that make a name look like another
// one without looking different: default-ignorable code points (variation
// selectors such as U+FE0F and U+E0100, the combining grapheme joiner
// U+034F, Mongolian selectors, Hangul fillers such as U+3164), and then
// anything the PRECIS Nickname profile (RFC 8266) disallows.
func checkNickname(s string) error {
	for _, r := range s {
		if isInvisible(r) {
			return fmt.Errorf("invalid name: it contains an invisible character (U+%04X)", r)
		}
	}
	if _, err := precis.Nickname.String(s); err != nil {
		for _, r := range s {
			if _, err := precis.Nickname.String(string(r)); err != nil {
				return fmt.Errorf("invalid name: names may not contain U+%04X", r)
			}
		}
		return fmt.Errorf("invalid name: %s is not a valid nickname (%v)", s, err)
	}
	return nil
}

// isInvisible reports a default-ignorable code point: one a renderer may
// draw as nothing at all.
func isInvisible(r rune) bool {
	return unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector, unicode.Cf)
}

var folder = cases.Fold()

// NameKey maps a name to the key under which names must be unique: width
// folded, case folded and reduced to its confusable skeleton, so "bob",
// "BOB", fullwidth "ｂｏｂ" and Cyrillic "bоb" collide. The skeleton is
// taken before case folding too, so that a capital I reads as the l it
// looks like ("aIice" is "alice"), and the full Unicode table is used, so
// "rn" is "m" ("rnarie" is "marie"). Because "Ivan" must match both
// "ivan" (case) and "lvan" (shape), i and l end up one class: the key of
// "ali" is the key of "all".
func NameKey(name string) string {
	s := norm.NFKC.String(width.Fold.String(name))
	s = confusables.Skeleton(s)
	s = folder.String(s)
	s = confusables.Skeleton(norm.NFC.String(s))
	s = folder.String(norm.NFC.String(s))
	return strings.ReplaceAll(s, "i", "l")
}
