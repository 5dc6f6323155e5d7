package tui

import (
	"sync"

	"parley/core"

	"github.com/muesli/termenv"
)

// lineKey names one rendering of a message: everything the lines depend
// on besides the message itself.
type lineKey struct {
	msg     *core.Message
	width   int
	profile termenv.Profile
	mention bool // highlighted for a viewer it names
}

// lineCache shares rendered messages among sessions. A message goes to
// every member of a room, and every screen of the same width and colour
// profile shows it the same, so it is wrapped and styled once instead of
// once per member. Only the latest renderings are kept; an older one is
// made again if someone scrolls back to it.
type lineCache struct {
	mu   sync.RWMutex
	m    map[lineKey][]string
	ring []lineKey // insertion order, for eviction
	next int
}

// sharedLines serves every session of the process.
var sharedLines = newLineCache(8192)

func newLineCache(size int) *lineCache {
	return &lineCache{m: make(map[lineKey][]string, size), ring: make([]lineKey, size)}
}

// get returns the lines for k, rendering them on a miss. The lines are
// shared: callers must not change them.
func (c *lineCache) get(k lineKey, render func() []string) []string {
	c.mu.RLock()
	lines, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return lines
	}
	lines = render()
	c.mu.Lock()
	defer c.mu.Unlock()
	if had, ok := c.m[k]; ok {
		return had // another session rendered it meanwhile
	}
	if old := c.ring[c.next]; old.msg != nil {
		delete(c.m, old)
	}
	c.ring[c.next] = k
	c.next = (c.next + 1) % len(c.ring)
	c.m[k] = lines
	return lines
}
