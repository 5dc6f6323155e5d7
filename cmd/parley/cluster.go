package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"parley/cluster"
	"parley/cluster/embedded"
	"parley/config"
	"parley/core"
	"parley/sshui"
)

// clusterTimeout bounds joining the cluster at start.
const clusterTimeout = 30 * time.Second

// joinCluster connects this node to the others when [cluster] names it;
// a single node gets nil and no NATS at all.
func joinCluster(cfg config.Config, log *slog.Logger) (*cluster.Node, error) {
	if cfg.Cluster.Node == "" {
		return nil, nil
	}
	hostKey, err := sshui.HostKeyFingerprint(cfg.Server.HostKeyDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTimeout)
	defer cancel()
	return cluster.Connect(ctx, clusterSettings(cfg, hostKey), log)
}

// clusterSettings maps the config file's [cluster] onto the cluster's
// settings; hostKey is the fingerprint of this node's SSH host key.
func clusterSettings(cfg config.Config, hostKey string) cluster.Settings {
	c := cfg.Cluster
	s := cluster.Settings{
		Node:           c.Node,
		NATS:           c.NATS,
		CredsFile:      c.CredsFile,
		TLSCA:          c.TLSCA,
		TLSCert:        c.TLSCert,
		TLSKey:         c.TLSKey,
		Replicas:       c.Replicas,
		Heartbeat:      c.Heartbeat,
		NodeTTL:        c.NodeTTL,
		PublishTimeout: c.PublishTimeout,
		Prefix:         c.Prefix,
		ConfigHash:     sharedConfigHash(cfg.Core),
		HostKey:        hostKey,
		ImportBans:     cfg.Server.BanPath(),
	}
	if c.Embed {
		s.Embed = &embedded.Settings{
			Name:          c.Node,
			ClientListen:  c.Listen,
			ClusterListen: c.ClusterListen,
			Routes:        c.Routes,
			ClusterName:   c.Prefix,
			StoreDir:      c.DataDir,
			MonitorListen: c.MonitorListen,
		}
	}
	return s
}

// sharedConfigHash summarises the settings every node of a cluster must
// share: rooms, operators, reserved names and the default room. Nodes
// compare it to report drift.
func sharedConfigHash(c core.Config) string {
	b, _ := json.Marshal(struct {
		DefaultRoom string
		Rooms       []core.RoomConfig
		Operators   []string
		Reserved    map[string][]string
		UserRooms   bool
	}{c.DefaultRoom, c.Rooms, c.Operators, c.Reserved, c.AllowUserRooms})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// clusterCollector exports a node's cluster statistics as parley_cluster_*.
type clusterCollector struct{ node *cluster.Node }

var (
	clusterNodesDesc    = prometheus.NewDesc("parley_cluster_nodes", "Live nodes of the cluster, this one included.", nil, nil)
	clusterPublishDesc  = prometheus.NewDesc("parley_cluster_publish_seconds", "Time from publishing an entry to the stream's acknowledgement.", nil, nil)
	clusterFailuresDesc = prometheus.NewDesc("parley_cluster_publish_failures_total", "Entries given up after publish_timeout.", nil, nil)
	clusterAppliedDesc  = prometheus.NewDesc("parley_cluster_applied_total", "Entries of the shared log this node applied.", nil, nil)
	clusterGapsDesc     = prometheus.NewDesc("parley_cluster_gaps_total", "Entries lost before this node applied them, repaired from a snapshot.", nil, nil)
	clusterReapedDesc   = prometheus.NewDesc("parley_cluster_reaped_users_total", "Users of lost nodes this node ended everywhere.", nil, nil)
	clusterFencedDesc   = prometheus.NewDesc("parley_cluster_fenced", "1 while this node has cut its users off, having lost contact with the others.", nil, nil)
	clusterFencesDesc   = prometheus.NewDesc("parley_cluster_fences_total", "Times this node cut its users off.", nil, nil)
	clusterMismatchDesc = prometheus.NewDesc("parley_cluster_config_mismatch", "Live nodes whose shared settings (rooms, operators, reserved names) or SSH host key differ from this one's.", nil, nil)
	clusterSlowDesc     = prometheus.NewDesc("parley_cluster_slow_consumer_total", "Times NATS reported this node reading too slowly.", nil, nil)
)

func (c clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{clusterNodesDesc, clusterPublishDesc, clusterFailuresDesc, clusterAppliedDesc,
		clusterGapsDesc, clusterReapedDesc, clusterFencedDesc, clusterFencesDesc, clusterMismatchDesc, clusterSlowDesc} {
		ch <- d
	}
}

func (c clusterCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.node.Stats()
	fenced := 0.0
	if st.Fenced {
		fenced = 1
	}
	buckets := map[float64]uint64{}
	for i, bound := range cluster.PublishBuckets {
		buckets[bound.Seconds()] = st.PublishBuckets[i]
	}
	ch <- prometheus.MustNewConstMetric(clusterNodesDesc, prometheus.GaugeValue, float64(st.Nodes))
	ch <- prometheus.MustNewConstHistogram(clusterPublishDesc, st.Published, st.PublishSeconds, buckets)
	ch <- prometheus.MustNewConstMetric(clusterFailuresDesc, prometheus.CounterValue, float64(st.PublishFailures))
	ch <- prometheus.MustNewConstMetric(clusterAppliedDesc, prometheus.CounterValue, float64(st.Applied))
	ch <- prometheus.MustNewConstMetric(clusterGapsDesc, prometheus.CounterValue, float64(st.Gaps))
	ch <- prometheus.MustNewConstMetric(clusterReapedDesc, prometheus.CounterValue, float64(st.ReapedUsers))
	ch <- prometheus.MustNewConstMetric(clusterFencedDesc, prometheus.GaugeValue, fenced)
	ch <- prometheus.MustNewConstMetric(clusterFencesDesc, prometheus.CounterValue, float64(st.Fences))
	ch <- prometheus.MustNewConstMetric(clusterMismatchDesc, prometheus.GaugeValue, float64(st.ConfigMismatch))
	ch <- prometheus.MustNewConstMetric(clusterSlowDesc, prometheus.CounterValue, float64(st.SlowConsumer))
}
