package core

import (
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ConnGuard bounds connections per client address: how many may be open
// at once and how many new ones may start per minute. IPv6 clients are
// counted per /64, since one host usually holds a whole /64. Both
// transports ask it before doing any work for a new connection.
type ConnGuard struct {
	mu        sync.Mutex
	perIP     int
	perMinute int
	exempt    ipSet
	open      map[netip.Prefix]int
	recent    map[netip.Prefix]*window
	admits    int
	now       func() time.Time
	obs       Observer // told of refusals; see SetObserver
}

// NewConnGuard creates a guard from the limits' per-IP settings.
func NewConnGuard(l Limits) (*ConnGuard, error) {
	exempt, err := parseIPSet(l.ExemptIPs)
	if err != nil {
		return nil, err
	}
	return &ConnGuard{
		perIP:     l.ConnsPerIP,
		perMinute: l.NewConnsPerMinute,
		exempt:    exempt,
		open:      map[netip.Prefix]int{},
		recent:    map[netip.Prefix]*window{},
		now:       time.Now,
	}, nil
}

// Admit counts a new connection from addr ("ip" or "ip:port") and returns
// the function that ends it, or an error saying which limit it hit.
func (g *ConnGuard) Admit(addr string) (release func(), err error) {
	release, refusal, err := g.admit(addr)
	if refusal != 0 && g.obs != nil {
		g.obs.Refused(refusal)
	}
	return release, err
}

// Exempt reports whether ip is free of the per-address limits.
func (g *ConnGuard) Exempt(ip netip.Addr) bool { return g.exempt.contains(ip.Unmap()) }

func (g *ConnGuard) admit(addr string) (func(), Refusal, error) {
	ip, ok := parseAddr(addr)
	if !ok || g.exempt.contains(ip) {
		return func() {}, 0, nil
	}
	key := clientPrefix(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	if g.admits++; g.admits%1024 == 0 {
		g.pruneLocked(now)
	}
	if g.perIP > 0 && g.open[key] >= g.perIP {
		return nil, RefusedConnections, fmt.Errorf("too many connections from your address (at most %d at once)", g.perIP)
	}
	w := g.recent[key]
	if w == nil {
		w = &window{}
		g.recent[key] = w
	}
	if g.perMinute > 0 {
		if full, wait := w.full(now, g.perMinute); full {
			return nil, RefusedConnectRate, fmt.Errorf("too many new connections from your address: try again in %s", roundUp(wait))
		}
	}
	w.add(now)
	g.open[key]++
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.open[key]--; g.open[key] <= 0 {
				delete(g.open, key)
			}
		})
	}, 0, nil
}

func (g *ConnGuard) pruneLocked(now time.Time) {
	for k, w := range g.recent {
		if full, _ := w.full(now, 1); !full {
			delete(g.recent, k)
		}
	}
}

func parseAddr(addr string) (netip.Addr, bool) {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

func clientPrefix(ip netip.Addr) netip.Prefix {
	bits := 32
	if ip.Is6() {
		bits = 64
	}
	p, _ := ip.Prefix(bits)
	return p
}

// ipSet is a list of addresses and CIDR prefixes.
type ipSet []netip.Prefix

func parseIPSet(items []string) (ipSet, error) {
	var s ipSet
	for _, it := range items {
		if p, err := netip.ParsePrefix(it); err == nil {
			s = append(s, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(it)
		if err != nil {
			return nil, fmt.Errorf("exempt_ips: %q is neither an address nor a prefix", it)
		}
		s = append(s, netip.PrefixFrom(ip.Unmap(), ip.Unmap().BitLen()))
	}
	return s, nil
}

func (s ipSet) contains(ip netip.Addr) bool {
	for _, p := range s {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
