package admin

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"time"

	"parley/core"
)

//go:embed web
var web embed.FS

// Intervals of the monitor stream; variables so tests need not wait.
var (
	countsEvery    = 2 * time.Second
	streamDeadline = 10 * time.Second // for one write to a viewer
)

// pageCSP allows the page's own script and style and its event stream,
// and nothing else.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func pageHeaders(w http.ResponseWriter, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

func serveMonitorPage(w http.ResponseWriter, r *http.Request) {
	serveEmbedded(w, "web/monitor.html")
}

func serveMonitorAsset(w http.ResponseWriter, r *http.Request) {
	switch name := r.PathValue("file"); name {
	case "monitor.js", "monitor.css":
		serveEmbedded(w, "web/"+name)
	default:
		http.NotFound(w, r)
	}
}

func serveEmbedded(w http.ResponseWriter, name string) {
	b, err := web.ReadFile(name)
	if err != nil {
		http.Error(w, "missing page", http.StatusInternalServerError)
		return
	}
	types := map[string]string{".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
	pageHeaders(w, types[path.Ext(name)])
	_, _ = w.Write(b)
}

// serveFeed streams monitor events and counts as server-sent events:
// "monitor" (one line of the feed), "counts" (a snapshot, at once and
// then periodically) and "missed" (events this viewer was too slow for).
func (s *Server) serveFeed(w http.ResponseWriter, r *http.Request) {
	v, ok := s.feed.join()
	if !ok {
		plain(w, http.StatusServiceUnavailable, "the monitor is unavailable: too many viewers, or the server is stopping")
		return
	}
	defer s.feed.leave(v)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	send := func(event string, data []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(streamDeadline))
		if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, data); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	sendCounts := func() bool {
		b, _ := json.Marshal(s.counts())
		return send("counts", b)
	}
	if !sendCounts() {
		return
	}
	tick := time.NewTicker(countsEvery)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.feed.done:
			return
		case <-tick.C:
			if !sendCounts() {
				return
			}
		case b := <-v.events:
			if !send("monitor", b) {
				return
			}
			if n := v.missed.Swap(0); n > 0 && !send("missed", fmt.Appendf(nil, "%d", n)) {
				return
			}
		}
	}
}

// line is one monitor event as the page shows it.
type line struct {
	Time string `json:"time"`
	Kind string `json:"kind"` // session, room, message, private, call: for styling
	Text string `json:"text"`
}

// describe turns an event into the text the page shows. The core has
// already kept private content out of it.
func describe(ev core.MonitorEvent) line {
	l := line{Time: ev.Time.UTC().Format(time.RFC3339)}
	room := ev.Room
	if room == "" {
		room = "a hidden room"
	}
	switch ev.Kind {
	case core.MonitorConnected:
		l.Kind, l.Text = "session", fmt.Sprintf("%s connected (%s)", ev.Name, ev.Transport)
	case core.MonitorDisconnected:
		l.Kind, l.Text = "session", fmt.Sprintf("%s disconnected (%s)", ev.Name, ev.Transport)
		switch ev.End {
		case core.EndSlow:
			l.Text += ": too slow"
		case core.EndFlood:
			l.Text += ": flooding"
		case core.EndServer:
			l.Text += ": by the server"
		case core.EndKicked:
			l.Text += ": kicked"
		case core.EndBanned:
			l.Text += ": banned"
		}
	case core.MonitorJoined:
		l.Kind, l.Text = "room", fmt.Sprintf("%s joined %s", ev.Name, room)
	case core.MonitorLeft:
		l.Kind, l.Text = "room", fmt.Sprintf("%s left %s", ev.Name, room)
	case core.MonitorRenamed:
		l.Kind, l.Text = "room", fmt.Sprintf("%s is now %s", ev.OldName, ev.Name)
	case core.MonitorMessage:
		l.Kind, l.Text = "message", fmt.Sprintf("%s <%s> %s", ev.Room, ev.Name, ev.Text)
		if ev.MsgKind == core.Action {
			l.Text = fmt.Sprintf("%s * %s %s", ev.Room, ev.Name, ev.Text)
		}
	case core.MonitorPrivateOpened:
		l.Kind, l.Text = "private", "a private chat was opened"
	case core.MonitorPrivateClosed:
		l.Kind, l.Text = "private", "a private chat ended"
	case core.MonitorCall:
		l.Kind, l.Text = "call", "a video call: "+ev.Call.String()
	case core.MonitorModeration:
		l.Kind, l.Text = "moderation", ev.Text
	default:
		l.Kind, l.Text = "session", "unknown event"
	}
	return l
}
