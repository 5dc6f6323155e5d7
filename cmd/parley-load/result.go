package main

import (
	"fmt"
	"slices"
	"time"
)

// Result is what one load run measured. Durations are wall-clock; the
// server figures are zero unless its PID was given.
type Result struct {
	Label    string
	Sessions int // SSH sessions that read
	WS       int // WebSocket clients
	Stalled  int
	Senders  int

	Connected     int // sessions (reading or stalled) that got a shell
	ConnectFailed int
	Connect       Percentiles // dial to first printed character, reading sessions
	Opened        Percentiles // dial to an open shell or a sent hello: the handshake's part of Connect
	// ToolConnectCPUShare is the tool's CPU while the reading sessions
	// connected, of one core: a high share means connect latency is partly
	// the tool's own.
	ToolConnectCPUShare float64

	Messages   int   // tokens sent
	SendErrors int   // senders stopped by a failed write
	Expected   int64 // tokens × reading sessions other than the sender
	Delivered  int64 // first sightings of a token by another reading session
	Fanout     Percentiles

	DeliveriesPerSec          float64
	BytesPerSessionPerMessage float64

	Window       time.Duration // the measured window: load (with drain) or idle
	WindowBytes  int64         // output received by reading sessions in it
	ToolCPU      time.Duration
	ToolCPUShare float64 // of one core

	ServerMeasured           bool
	ServerCPU                time.Duration
	ServerCPUShare           float64 // of one core
	ServerCPUPer1000         float64 // CPU seconds per 1,000 deliveries
	ServerRSSBefore          int64   // before the first connection
	ServerRSS                int64   // at the end of the window
	ServerHWM                int64
	ServerRSSPerSession      float64 // ServerRSS / Connected
	ServerRSSDeltaPerSession float64 // (ServerRSS − ServerRSSBefore) / Connected

	// Nodes break the figures down by node when the sessions were spread
	// over several, in the order of the targets.
	Nodes []NodeResult `json:",omitempty"`
	// NATS is what NATS servers delivered to each client connection in the
	// window, when their monitoring addresses were given.
	NATS []NATSNode `json:",omitempty"`

	// Unstalled is the same load on the same sessions before the stalled
	// ones connected, when there are stalled sessions.
	Unstalled *Result `json:",omitempty"`

	Resyncs      int64 // WebSocket clients told they had fallen behind, in the window
	Disconnected int   // reading sessions whose stream ended before the run did
	// DisconnectReason is why the first of them ended, as the client saw it.
	DisconnectReason string `json:",omitempty"`
	StuckReaders     int    // readers that did not stop when their connection closed
}

// NodeResult is one node's share of a run spread over several.
type NodeResult struct {
	SSH, Web  string // its targets
	Sessions  int    // reading sessions connected to it
	Delivered int64  // deliveries seen on its sessions
	// Fanout is the fan-out latency of the deliveries on its sessions,
	// whichever node the sender was on.
	Fanout Percentiles
	// ServerCPU is its process's CPU in the window; ServerCPUPer1000 that
	// per 1,000 deliveries to its own sessions.
	ServerCPU        time.Duration
	ServerCPUPer1000 float64
	ServerRSS        int64
}

// DeliveryRatio is delivered / expected, 1 when nothing was expected.
func (r *Result) DeliveryRatio() float64 {
	if r.Expected == 0 {
		return 1
	}
	return float64(r.Delivered) / float64(r.Expected)
}

func (r *Result) countDisconnected(watchers []*session) {
	for _, s := range watchers {
		if s.endedAt.Load() == 0 {
			continue
		}
		r.Disconnected++
		if r.DisconnectReason == "" {
			<-s.ended // endErr is set just before
			r.DisconnectReason = fmt.Sprint(s.endErr)
		}
	}
}

// Percentiles summarises a latency distribution.
type Percentiles struct {
	N                  int
	P50, P90, P99, Max time.Duration
}

func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return Percentiles{N: len(s), P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: s[len(s)-1]}
}
