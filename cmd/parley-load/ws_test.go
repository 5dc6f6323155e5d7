package main

import (
	"encoding/json"
	"slices"
	"testing"
)

// stringField finds the same text as decoding the frame, whatever the
// text holds: quotes, backslashes, or what looks like another field.
func TestStringFieldReadsTheValueAsJSONHasIt(t *testing.T) {
	for _, text := range []string{
		"tkabc0000001",
		`say "text":"tkabc0000002" and \ more tkabc0000003`,
		"",
		`\"`,
	} {
		frame, err := json.Marshal(map[string]any{"type": "message", "msg": map[string]any{"from": map[string]any{"name": `"text":"x`}, "text": text}})
		if err != nil {
			t.Fatal(err)
		}
		if typ, ok := stringField(frame, "type"); !ok || string(typ) != "message" {
			t.Fatalf("type of %s: %q %v", frame, typ, ok)
		}
		raw, ok := stringField(frame, "text")
		if !ok {
			t.Fatalf("no text in %s", frame)
		}
		var decoded string
		if err := json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &decoded); err != nil || decoded != text {
			t.Fatalf("text of %s: %q (%v), want %q", frame, raw, err, text)
		}
		var want, got []int
		tokensIn(text, "tkabc", func(id int) { want = append(want, id) })
		tokensIn(string(raw), "tkabc", func(id int) { got = append(got, id) })
		if !slices.Equal(got, want) {
			t.Fatalf("tokens of %s: %v, want %v", frame, got, want)
		}
	}
	for _, frame := range []string{`{"type":"message"}`, `{"type":"message","msg":{"text":"unterminated}}`, `{"text":1}`} {
		if raw, ok := stringField([]byte(frame), "text"); ok {
			t.Errorf("%s: found text %q", frame, raw)
		}
	}
}
