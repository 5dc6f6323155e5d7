package webrtcsignal

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"parley/core"
)

// Config is the web side's settings. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	// AllowedOrigins are origins ("https://chat.example.org") allowed to
	// open the WebSocket besides the page's own host.
	AllowedOrigins []string
	// PublicURL is the base of call links shown to terminal users
	// ("https://chat.example.org"). Without it a terminal user cannot take
	// a call.
	PublicURL string
	// ICEServers are handed to browsers for their calls.
	ICEServers []ICEServer
	// TURNSecret, when set, turns the TURN servers' credentials into
	// time-limited ones (the TURN REST scheme, coturn's use-auth-secret).
	TURNSecret string
	// TURNTTL is how long such credentials stay valid.
	TURNTTL time.Duration
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For header names the real client.
	TrustedProxies []netip.Prefix
	// UntrustedProxy, when set, is told of the first request that
	// carries X-Forwarded-For from a peer not in TrustedProxies: most
	// likely a reverse proxy that was not configured, which makes every
	// browser look like the proxy to the per-address limits.
	UntrustedProxy func(peer netip.Addr)
	// ReadLimit bounds one WebSocket frame from a browser, in bytes.
	ReadLimit int64
	// MaxSDP bounds one offer or answer, in bytes.
	MaxSDP int
	// MaxCandidates bounds the ICE candidates one side may send in a call.
	MaxCandidates int
	// FrameBurst and FrameRate bound the frames a browser may send: a
	// burst, then a steady rate per second. Past it the connection closes.
	FrameBurst int
	FrameRate  float64
	// Guard bounds connections per client address; the binary shares one
	// with the SSH side. Nil means no per-address bound.
	Guard *core.ConnGuard
	// FlushInterval is the shortest time between two writes of chat
	// events to one browser once a few have gone out back to back: events
	// that keep coming faster are sent together.
	FlushInterval time.Duration
	// SendQueue bounds the messages waiting for one browser besides the
	// core's outbox (call signaling, replies). A browser that lets it fill
	// is disconnected.
	SendQueue int
	// HelloTimeout is how long a new WebSocket may take to say hello.
	HelloTimeout time.Duration
	// PingInterval is how often the server pings; a browser that has not
	// answered within PongWait is dropped. WriteWait bounds one write.
	PingInterval time.Duration
	PongWait     time.Duration
	WriteWait    time.Duration
	// RingTimeout is how long a call rings before it counts as missed.
	RingTimeout time.Duration
	// ConnectTimeout is how long a call may take to connect once both
	// sides are in: the browsers try once more with an ICE restart, then
	// give up with a reason instead of showing "Connecting…" for ever.
	ConnectTimeout time.Duration
	// LinkTTL is how long a one-time call link stays valid.
	LinkTTL time.Duration
	// InviteInterval is how soon a user may place another call, so nobody
	// can ring someone over and over.
	InviteInterval time.Duration
	// ResumeGrace is how long a browser user whose connection ended stays,
	// unseen, for its tab to come back as the same user.
	ResumeGrace time.Duration
	// HSTS adds Strict-Transport-Security to responses (set it when the
	// page is served over TLS).
	HSTS bool
}

// ICEServer is one STUN or TURN server, as RTCIceServer expects it.
type ICEServer struct {
	URLs       []string
	Username   string
	Credential string
}

type iceServerJSON struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		TURNTTL:        time.Hour,
		ReadLimit:      128 << 10,
		MaxSDP:         64 << 10,
		MaxCandidates:  200,
		FrameBurst:     100,
		FrameRate:      20,
		SendQueue:      256,
		FlushInterval:  20 * time.Millisecond,
		HelloTimeout:   15 * time.Second,
		PingInterval:   25 * time.Second,
		PongWait:       60 * time.Second,
		WriteWait:      10 * time.Second,
		RingTimeout:    30 * time.Second,
		ConnectTimeout: 20 * time.Second,
		LinkTTL:        2 * time.Minute,
		InviteInterval: 3 * time.Second,
		ResumeGrace:    2 * time.Minute,
	}
}

// withDefaults fills zero fields from DefaultConfig and checks the rest.
func (c Config) withDefaults() (Config, error) {
	d := DefaultConfig()
	if c.TURNTTL == 0 {
		c.TURNTTL = d.TURNTTL
	}
	if c.ReadLimit == 0 {
		c.ReadLimit = d.ReadLimit
	}
	if c.MaxSDP == 0 {
		c.MaxSDP = d.MaxSDP
	}
	if c.MaxCandidates == 0 {
		c.MaxCandidates = d.MaxCandidates
	}
	if c.FrameBurst == 0 {
		c.FrameBurst = d.FrameBurst
	}
	if c.FrameRate == 0 {
		c.FrameRate = d.FrameRate
	}
	if c.SendQueue == 0 {
		c.SendQueue = d.SendQueue
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = d.FlushInterval
	}
	if c.HelloTimeout == 0 {
		c.HelloTimeout = d.HelloTimeout
	}
	if c.PingInterval == 0 {
		c.PingInterval = d.PingInterval
	}
	if c.PongWait == 0 {
		c.PongWait = d.PongWait
	}
	if c.WriteWait == 0 {
		c.WriteWait = d.WriteWait
	}
	if c.RingTimeout == 0 {
		c.RingTimeout = d.RingTimeout
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.LinkTTL == 0 {
		c.LinkTTL = d.LinkTTL
	}
	if c.InviteInterval == 0 {
		c.InviteInterval = d.InviteInterval
	}
	if c.ResumeGrace == 0 {
		c.ResumeGrace = d.ResumeGrace
	}
	switch {
	case c.MaxSDP > int(c.ReadLimit):
		return c, errors.New("max SDP size must not exceed the read limit")
	case c.PongWait <= c.PingInterval:
		return c, errors.New("pong wait must be longer than the ping interval")
	case c.FrameBurst < 1 || c.FrameRate <= 0 || c.SendQueue < 16:
		return c, errors.New("connection limits out of range")
	case c.FlushInterval < 0 || c.FlushInterval > time.Second:
		return c, errors.New("flush interval must be between 0 and 1s")
	case c.ConnectTimeout < time.Second:
		return c, errors.New("call connect timeout must be at least 1s")
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return c, fmt.Errorf("public URL %q must be an http(s) URL", c.PublicURL)
		}
	}
	for _, o := range c.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || u.Path != "" {
			return c, fmt.Errorf("allowed origin %q must look like https://host[:port]", o)
		}
	}
	for _, s := range c.ICEServers {
		for _, u := range s.URLs {
			if !strings.HasPrefix(u, "stun:") && !strings.HasPrefix(u, "stuns:") && !strings.HasPrefix(u, "turn:") && !strings.HasPrefix(u, "turns:") {
				return c, fmt.Errorf("ICE server %q must be a stun, stuns, turn or turns URL", u)
			}
		}
	}
	return c, nil
}

// iceServersFor returns the ICE servers for one user. With a TURN secret,
// TURN servers get REST credentials: username "expiry:user", password
// base64(HMAC-SHA1(secret, username)).
func (c Config) iceServersFor(user uint64, now time.Time) []iceServerJSON {
	out := make([]iceServerJSON, 0, len(c.ICEServers))
	for _, s := range c.ICEServers {
		j := iceServerJSON(s)
		if c.TURNSecret != "" && isTURN(s) {
			j.Username = strconv.FormatInt(now.Add(c.TURNTTL).Unix(), 10) + ":" + strconv.FormatUint(user, 10)
			j.Credential = turnPassword(c.TURNSecret, j.Username)
		}
		out = append(out, j)
	}
	return out
}

func isTURN(s ICEServer) bool {
	for _, u := range s.URLs {
		if strings.HasPrefix(u, "turn:") || strings.HasPrefix(u, "turns:") {
			return true
		}
	}
	return false
}

func turnPassword(secret, username string) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write([]byte(username))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}
