package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"parley/core"
)

// idBlock is how many user IDs one round trip to NATS hands out.
const idBlock = 1024

// maxID keeps IDs exact in a browser's numbers (2^53).
const maxID = 1 << 53

// idKey is the counter of handed-out ID blocks in the IDs bucket.
const idKey = "blocks"

// Directory keeps what must be unique across the cluster in KV buckets:
// user IDs, names and codes. Claims are compare-and-set writes, so two
// nodes racing for one name get one winner. Its methods block on the
// network and are never called with the hub's lock held.
type Directory struct {
	ids    jetstream.KeyValue
	claims map[core.ClaimKind]jetstream.KeyValue

	idMu      sync.Mutex
	next, end uint64 // the rest of the current ID block

	heldMu sync.Mutex
	held   map[heldKey]uint64 // revisions of this process's claims
}

var _ core.Directory = (*Directory)(nil)

type heldKey struct {
	kind core.ClaimKind
	key  string
	o    core.Owner
}

func encodeOwner(o core.Owner) []byte {
	b, _ := json.Marshal(o)
	return b
}

func decodeOwner(b []byte) (core.Owner, bool) {
	var o core.Owner
	return o, json.Unmarshal(b, &o) == nil
}

// claimKey turns any name or code into a valid KV key, the same on every node.
func claimKey(key string) string { return base64.RawURLEncoding.EncodeToString([]byte(key)) }

// NewID returns a user ID no other node hands out, below 2^53.
func (d *Directory) NewID(ctx context.Context) (uint64, error) {
	d.idMu.Lock()
	defer d.idMu.Unlock()
	if d.next == d.end {
		block, err := d.takeBlock(ctx)
		if err != nil {
			return 0, err
		}
		d.next, d.end = block*idBlock, (block+1)*idBlock
		if d.next == 0 {
			d.next = 1 // 0 means "nobody" to the core
		}
	}
	id := d.next
	d.next++
	return id, nil
}

// takeBlock increments the block counter by compare-and-set and returns
// the block it moved past.
func (d *Directory) takeBlock(ctx context.Context) (uint64, error) {
	for {
		var block, rev uint64
		e, err := d.ids.Get(ctx, idKey)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("user IDs: %w", err)
		default:
			if block, err = strconv.ParseUint(string(e.Value()), 10, 64); err != nil {
				return 0, fmt.Errorf("user IDs: the counter holds %q", e.Value())
			}
			rev = e.Revision()
		}
		if (block+1)*idBlock > maxID {
			return 0, errors.New("user IDs: all 2^53 are used up")
		}
		value := []byte(strconv.FormatUint(block+1, 10))
		if rev == 0 {
			_, err = d.ids.Create(ctx, idKey, value)
		} else {
			_, err = d.ids.Update(ctx, idKey, value, rev)
		}
		if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			continue // another node took a block meanwhile
		}
		if err != nil {
			return 0, fmt.Errorf("user IDs: %w", err)
		}
		return block, nil
	}
}

// Claim makes o the holder of key, or returns core.ErrTaken when someone else
// holds it. Claiming again what o already holds succeeds.
func (d *Directory) Claim(ctx context.Context, kind core.ClaimKind, key string, o core.Owner) error {
	kv, err := d.bucket(kind)
	if err != nil {
		return err
	}
	k := claimKey(key)
	var rev uint64
	err = untilSettled(ctx, func() (err error) {
		rev, err = kv.Create(ctx, k, encodeOwner(o))
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := kv.Get(ctx, k)
		if gerr != nil {
			return core.ErrTaken // gone meanwhile or unreadable: taken at the moment we asked
		}
		if cur, ok := decodeOwner(e.Value()); ok && cur == o {
			rev, err = e.Revision(), nil
		} else {
			return core.ErrTaken
		}
	}
	if err != nil {
		return fmt.Errorf("claim: %w", err)
	}
	d.heldMu.Lock()
	d.held[heldKey{kind, key, o}] = rev
	d.heldMu.Unlock()
	return nil
}

// Release gives key up if o still holds it; a claim that has since passed
// to someone else is left alone.
func (d *Directory) Release(ctx context.Context, kind core.ClaimKind, key string, o core.Owner) error {
	kv, err := d.bucket(kind)
	if err != nil {
		return err
	}
	hk := heldKey{kind, key, o}
	d.heldMu.Lock()
	rev, ok := d.held[hk]
	d.heldMu.Unlock()
	if !ok {
		// Not claimed by this process (a reaped incarnation's, say): read
		// who holds it now.
		e, err := kv.Get(ctx, claimKey(key))
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("release: %w", err)
		}
		if cur, ok := decodeOwner(e.Value()); !ok || cur != o {
			return nil
		}
		rev = e.Revision()
	}
	err = releaseRevision(ctx, kv, claimKey(key), rev)
	if err == nil {
		d.heldMu.Lock()
		delete(d.held, hk)
		d.heldMu.Unlock()
	}
	return err
}

// Move hands key from one owner to another, by compare-and-set: only
// while from still holds it (core.ErrTaken otherwise).
func (d *Directory) Move(ctx context.Context, kind core.ClaimKind, key string, from, to core.Owner) error {
	kv, err := d.bucket(kind)
	if err != nil {
		return err
	}
	k := claimKey(key)
	e, err := kv.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return core.ErrTaken
	}
	if err != nil {
		return fmt.Errorf("move: %w", err)
	}
	if cur, ok := decodeOwner(e.Value()); !ok || cur != from {
		return core.ErrTaken
	}
	var rev uint64
	err = untilSettled(ctx, func() (err error) {
		rev, err = kv.Update(ctx, k, encodeOwner(to), e.Revision())
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return core.ErrTaken // changed hands meanwhile
	}
	if err != nil {
		return fmt.Errorf("move: %w", err)
	}
	d.heldMu.Lock()
	delete(d.held, heldKey{kind, key, from})
	d.held[heldKey{kind, key, to}] = rev
	d.heldMu.Unlock()
	return nil
}

// releaseRevision deletes key if it is still at revision rev.
func releaseRevision(ctx context.Context, kv jetstream.KeyValue, key string, rev uint64) error {
	err := untilSettled(ctx, func() error { return kv.Delete(ctx, key, jetstream.LastRevision(rev)) })
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil // someone else's now, or gone already
	}
	if err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}

func (d *Directory) bucket(kind core.ClaimKind) (jetstream.KeyValue, error) {
	kv, ok := d.claims[kind]
	if !ok {
		return nil, fmt.Errorf("claim kind %d is unknown", kind)
	}
	return kv, nil
}

// releaseIncarnation gives up every claim a dead incarnation of node held
// and returns how many names it held: its users.
func (d *Directory) releaseIncarnation(ctx context.Context, node, incarnation string) (names int, err error) {
	for kind, kv := range d.claims {
		entries, err := readAll(ctx, kv)
		if err != nil {
			return names, err
		}
		for _, e := range entries {
			o, ok := decodeOwner(e.Value())
			if !ok || o.Node != node || o.Incarnation != incarnation {
				continue
			}
			if err := releaseRevision(ctx, kv, e.Key(), e.Revision()); err != nil {
				return names, err
			}
			if kind == core.ClaimName {
				names++
			}
		}
	}
	return names, nil
}

// releaseAllBut gives up every claim not held by one of the live
// incarnations: what nodes that died while no node watched left behind.
func (d *Directory) releaseAllBut(ctx context.Context, live map[string]string) error {
	for _, kv := range d.claims {
		entries, err := readAll(ctx, kv)
		if err != nil {
			return err
		}
		for _, e := range entries {
			o, ok := decodeOwner(e.Value())
			if ok && live[o.Node] == o.Incarnation {
				continue
			}
			if err := releaseRevision(ctx, kv, e.Key(), e.Revision()); err != nil {
				return err
			}
		}
	}
	return nil
}

// readAll returns the current entries of a bucket, deletions left out.
func readAll(ctx context.Context, kv jetstream.KeyValue) ([]jetstream.KeyValueEntry, error) {
	ctx, cancel := context.WithCancel(ctx) // the watch's goroutine ends with it
	defer cancel()
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer func() {
		_ = w.Stop()
		for range w.Updates() {
			// The watcher's goroutine blocks on a full channel: drain it
			// until it closes so it can end.
		}
	}()
	var out []jetstream.KeyValueEntry
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, fmt.Errorf("reading %s: the watch ended", kv.Bucket())
			}
			if e == nil {
				return out, nil
			}
			out = append(out, e)
		case <-ctx.Done():
			return nil, fmt.Errorf("reading %s: %w", kv.Bucket(), ctx.Err())
		}
	}
}
