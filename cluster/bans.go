package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"parley/bans"
	"parley/core"
)

// importedKey marks the ban bucket once a ban file has been imported.
const importedKey = "meta.imported"

// Bans is the cluster's ban list: a file-backed KV bucket, so bans hold
// across restarts of every node, and a local copy fed by a watch, so Check
// never waits on the network.
type Bans struct {
	kv      jetstream.KeyValue
	timeout time.Duration
	logger  *slog.Logger

	mu    sync.RWMutex
	byKey map[string]core.Ban
	set   core.BanSet // byKey's bans, oldest first

	w         jetstream.KeyWatcher
	cancel    context.CancelFunc // ends the watch
	following bool               // follow runs, and closes done when the watch ends
	done      chan struct{}
}

var _ core.BanList = (*Bans)(nil)

// banKey is one key per target, so banning the same key or address again
// replaces the ban.
func banKey(b core.Ban) string {
	sum := sha256.Sum256([]byte(b.Fingerprint + "|" + b.Prefix.String()))
	return "ban." + base64.RawURLEncoding.EncodeToString(sum[:])
}

// openBans imports the ban file once, reads the bucket and follows it.
func openBans(ctx context.Context, kv jetstream.KeyValue, importPath string, timeout time.Duration, logger *slog.Logger) (*Bans, error) {
	b := &Bans{kv: kv, timeout: timeout, logger: logger, byKey: map[string]core.Ban{}, done: make(chan struct{})}
	if importPath != "" {
		if err := b.importFile(ctx, importPath); err != nil {
			return nil, err
		}
	}
	// The watch lasts until stop, not until ctx (which bounds the start).
	watchCtx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	w, err := kv.Watch(watchCtx, "ban.>")
	if err != nil {
		cancel()
		return nil, fmt.Errorf("the cluster's bans: %w", err)
	}
	b.w = w
	for {
		select {
		case e, ok := <-w.Updates():
			if !ok {
				return nil, errors.New("the cluster's bans: the watch ended")
			}
			if e == nil {
				b.following = true
				go b.follow()
				return b, nil
			}
			b.apply(e)
		case <-ctx.Done():
			b.stop()
			return nil, fmt.Errorf("the cluster's bans: %w", ctx.Err())
		}
	}
}

// importFile copies a single node's ban file into the bucket, once for
// the cluster: a node that finds the bucket marked imported skips it.
func (b *Bans) importFile(ctx context.Context, path string) error {
	if _, err := b.kv.Get(ctx, importedKey); err == nil {
		return nil
	} else if !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("the cluster's bans: %w", err)
	}
	store, err := bans.Open(path)
	if err != nil {
		return err
	}
	list := store.List(time.Now())
	for _, ban := range list {
		data, err := bans.MarshalBan(ban)
		if err != nil {
			return err
		}
		if _, err := b.kv.Create(ctx, banKey(ban), data); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
			return fmt.Errorf("importing %s into the cluster's bans: %w", path, err)
		}
	}
	if _, err := b.kv.Create(ctx, importedKey, []byte(path)); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("importing %s into the cluster's bans: %w", path, err)
	}
	b.logger.Info("imported the ban file into the cluster's bans", "file", path, "bans", len(list))
	return nil
}

func (b *Bans) follow() {
	defer close(b.done)
	for e := range b.w.Updates() {
		if e != nil {
			b.apply(e)
		}
	}
}

// apply takes one change of the bucket into the local copy. The sessions
// a new ban covers are cut off by the node that made it, through the log.
func (b *Bans) apply(e jetstream.KeyValueEntry) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if e.Operation() == jetstream.KeyValuePut {
		ban, err := bans.UnmarshalBan(e.Value())
		if err != nil {
			// Someone wrote the bucket by hand: its texts reach terminals.
			b.logger.Error("a ban in the cluster's list is refused; fix or delete it", "key", e.Key(), "err", err)
			return
		}
		b.byKey[e.Key()] = ban
	} else {
		delete(b.byKey, e.Key())
	}
	b.rebuild()
}

// rebuild orders the bans oldest first; b.mu is held.
func (b *Bans) rebuild() {
	set := make(core.BanSet, 0, len(b.byKey))
	for _, ban := range b.byKey {
		set = append(set, ban)
	}
	slices.SortFunc(set, func(x, y core.Ban) int { return x.Since.Compare(y.Since) })
	b.set = set
}

func (b *Bans) stop() {
	_ = b.w.Stop()
	b.cancel()
	if b.following {
		<-b.done
		return
	}
	for range b.w.Updates() {
	}
}

// Check implements core.BanList from the local copy, without waiting.
func (b *Bans) Check(fingerprint string, ip netip.Addr, now time.Time) (core.Ban, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.set.Find(fingerprint, ip, now)
}

// Add implements core.BanList: the ban is written to the bucket, and is in
// force on this node at once and on the others when their watch brings it.
func (b *Bans) Add(ban core.Ban, _ time.Time) error {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	key := banKey(ban)
	data, err := bans.MarshalBan(ban)
	if err != nil {
		return err
	}
	if _, err := b.kv.Put(ctx, key, data); err != nil {
		return fmt.Errorf("the cluster's bans: %w", err)
	}
	b.mu.Lock()
	b.byKey[key] = ban
	b.rebuild()
	b.mu.Unlock()
	return nil
}

// Remove implements core.BanList. When it fails partway, the bans it
// returned are lifted and the rest stay.
func (b *Bans) Remove(t core.BanTarget, now time.Time) ([]core.Ban, error) {
	b.mu.RLock()
	_, matched := b.set.Active(now).Without(t)
	b.mu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	var removed []core.Ban
	for _, ban := range matched {
		key := banKey(ban)
		if err := b.kv.Delete(ctx, key); err != nil {
			return removed, fmt.Errorf("the cluster's bans: %w", err)
		}
		b.mu.Lock()
		delete(b.byKey, key)
		b.rebuild()
		b.mu.Unlock()
		removed = append(removed, ban)
	}
	return removed, nil
}

// List implements core.BanList.
func (b *Bans) List(now time.Time) []core.Ban {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.set.Active(now)
}
