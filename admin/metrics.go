package admin

import (
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the counters and histograms the observer feeds. Gauges of
// current state are read at scrape time by stateCollector instead.
type metrics struct {
	started          *prometheus.CounterVec
	ended            *prometheus.CounterVec
	messages         *prometheus.CounterVec
	fanOutSeconds    prometheus.Histogram
	fanOutRecipients prometheus.Histogram
	dropped          prometheus.Counter
	rateLimited      *prometheus.CounterVec
	wrongGuesses     *prometheus.CounterVec
	calls            *prometheus.CounterVec
	viewerDrops      prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_sessions_started_total", Help: "Sessions connected, by transport.",
		}, []string{"transport"}),
		ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_sessions_ended_total", Help: "Sessions ended, by transport and reason (closed, slow, flood, server, kicked, banned, moved).",
		}, []string{"transport", "reason"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_messages_total", Help: "Messages posted, by kind (text, action, system).",
		}, []string{"kind"}),
		fanOutSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_fanout_duration_seconds",
			Help:    "Time to put one conversation event into every member's outbox.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
		fanOutRecipients: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_fanout_recipients",
			Help:    "Members one conversation event was delivered to.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_outbox_dropped_events_total", Help: "Events dropped because a session's outbox was full.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_ratelimit_hits_total", Help: "Requests refused by a rate limit (message_rate, muted, guess_rate, connections, connect_rate, rename_rate, password_rate, password_busy).",
		}, []string{"limit"}),
		wrongGuesses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_wrong_guesses_total", Help: "Wrong private-chat codes and room passwords.",
		}, []string{"what"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "parley_calls_total", Help: "Video call steps (ringing, answered, declined, ended).",
		}, []string{"stage"}),
		viewerDrops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "parley_monitor_dropped_events_total", Help: "Monitor events a slow viewer missed.",
		}),
	}
	// Known label values start at zero, so rates work from the first scrape.
	for _, t := range []string{"ssh", "web"} {
		m.started.WithLabelValues(t)
		for _, r := range []string{"closed", "slow", "flood", "server"} {
			m.ended.WithLabelValues(t, r)
		}
	}
	for _, k := range []string{"text", "action", "system"} {
		m.messages.WithLabelValues(k)
	}
	for _, l := range []string{"message_rate", "muted", "guess_rate", "connections", "connect_rate", "rename_rate", "password_rate", "password_busy"} {
		m.rateLimited.WithLabelValues(l)
	}
	for _, w := range []string{"code", "password"} {
		m.wrongGuesses.WithLabelValues(w)
	}
	for _, c := range []string{"ringing", "answered", "declined", "ended"} {
		m.calls.WithLabelValues(c)
	}
	s.reg.MustRegister(
		m.started, m.ended, m.messages, m.fanOutSeconds, m.fanOutRecipients, m.dropped,
		m.rateLimited, m.wrongGuesses, m.calls, m.viewerDrops,
		stateCollector{s},
		buildInfo(s.opts.Version),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

func buildInfo(version string) prometheus.Collector {
	revision, goVersion := "unknown", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		goVersion = bi.GoVersion
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				revision = kv.Value
			}
		}
	}
	if version == "" {
		version = "unknown"
	}
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "parley_build_info",
		Help:        "Always 1; the labels say which build runs.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": goVersion},
	})
	g.Set(1)
	return g
}

var (
	sessionsDesc = prometheus.NewDesc("parley_sessions", "Sessions connected now, by transport.", []string{"transport"}, nil)
	usersDesc    = prometheus.NewDesc("parley_users", "Users online now.", nil, nil)
	roomsDesc    = prometheus.NewDesc("parley_rooms", "Rooms in existence now.", nil, nil)
	privatesDesc = prometheus.NewDesc("parley_private_chats", "Private chats open now.", nil, nil)
	viewersDesc  = prometheus.NewDesc("parley_monitor_viewers", "Live monitor viewers now.", nil, nil)
	uptimeDesc   = prometheus.NewDesc("parley_uptime_seconds", "Seconds since the admin side started.", nil, nil)
)

// stateCollector reads the current state once per scrape.
type stateCollector struct{ s *Server }

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{sessionsDesc, usersDesc, roomsDesc, privatesDesc, viewersDesc, uptimeDesc} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	n := c.s.counts()
	for t, v := range n.Sessions {
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(v), t)
	}
	ch <- prometheus.MustNewConstMetric(usersDesc, prometheus.GaugeValue, float64(n.Users))
	ch <- prometheus.MustNewConstMetric(roomsDesc, prometheus.GaugeValue, float64(n.Rooms))
	ch <- prometheus.MustNewConstMetric(privatesDesc, prometheus.GaugeValue, float64(n.PrivateChats))
	ch <- prometheus.MustNewConstMetric(viewersDesc, prometheus.GaugeValue, float64(n.Viewers))
	ch <- prometheus.MustNewConstMetric(uptimeDesc, prometheus.GaugeValue, n.Uptime)
}
