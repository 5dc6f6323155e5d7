// Package cluster runs several Parley nodes as one server through NATS.
//
// Every node's hub is a full replica of one state machine. Each change a
// hub decides (a user online or offline, a join, a post, a rename ...) is
// a core.Entry that the node's Log publishes to one JetStream stream; every
// node follows the whole stream with one ordered consumer and applies each
// entry, its own included, in the stream's order, from one goroutine. So
// every replica goes through the same states, and a message sits at the
// same place in every member's history.
//
// What must be unique the moment it is handed out — user IDs, names,
// codes — is claimed in KV buckets by compare-and-set (Directory). Bans
// live in a file-backed bucket that every node follows (Bans).
//
// Liveness: every node holds a lease in a bucket whose entries expire
// after node_ttl, renewed every heartbeat. When a lease expires (a node
// died) one survivor, the one that creates the holding's reap lock,
// appends the hub's Lost entry and releases the dead incarnation's claims.
// A node that cannot renew fences itself (cuts its users off) a heartbeat
// before its lease could expire; when NATS answers again it takes its lease
// back, brings its hub up to date from a ready node's snapshot, ends its
// lapsed holding itself and serves again.
//
// A starting node gets the cluster's state from a ready node by
// request-reply (the snapshot and the stream sequence it stands for), then
// follows the stream from the next entry. When no node answers and no
// older node lives, it is the first: it starts from the empty state at the
// stream's end.
//
// Append never blocks: entries wait in a bounded queue for a publisher
// goroutine, which retries an entry with the same message ID (the stream
// drops duplicates) until the publish timeout, then reports it.
//
// Names in NATS, for a prefix p (default "parley"): the stream P_LOG on
// subjects p.log.<conversation>; the buckets P_IDS, P_NAMES, P_CODES,
// P_NODES (leases), P_REAP (reap locks) — all in memory — and P_BANS, on
// disk. Snapshots are requested on p.snapshot.
package cluster
