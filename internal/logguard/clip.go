package logguard

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"unicode/utf8"
)

// MaxValue is the longest text a log record keeps of one value, in bytes.
const MaxValue = 200

// Clip returns a handler that hands h every record with its message and
// values cut to MaxValue bytes (at a character boundary, saying how long
// the value was).
func Clip(h slog.Handler) slog.Handler { return clipHandler{h} }

type clipHandler struct{ next slog.Handler }

func (c clipHandler) Enabled(ctx context.Context, l slog.Level) bool { return c.next.Enabled(ctx, l) }

func (c clipHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, clipString(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(clipAttr(a))
		return true
	})
	return c.next.Handle(ctx, out)
}

func (c clipHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	clipped := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		clipped[i] = clipAttr(a)
	}
	return clipHandler{c.next.WithAttrs(clipped)}
}

func (c clipHandler) WithGroup(name string) slog.Handler { return clipHandler{c.next.WithGroup(name)} }

func clipAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, clipString(v.String()))
	case slog.KindGroup:
		group := v.Group()
		clipped := make([]any, len(group))
		for i, g := range group {
			clipped[i] = clipAttr(g)
		}
		return slog.Group(a.Key, clipped...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, clipString(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, clipString(x.String()))
		case []byte:
			return slog.String(a.Key, clipString(string(x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func clipString(s string) string {
	if len(s) <= MaxValue {
		return s
	}
	cut := MaxValue
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…(" + strconv.Itoa(len(s)) + " bytes)"
}
