package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// natsSample is what NATS servers' monitoring said at one moment, by
// client connection name: how many messages each server delivered to
// each client, in all and per subscription.
type natsSample map[string]*natsClient

type natsClient struct {
	outMsgs int64
	subMsgs map[string]int64 // by monitor, connection id and subscription id
}

// NATSNode is what NATS delivered to one node's connections during a
// measured window, by NATS's own count.
type NATSNode struct {
	Name string // the connection's name, e.g. "parley node1"
	// Msgs is every message the NATS servers sent the node: the log's
	// entries, but also lease renewals, directory changes and replies.
	Msgs int64
	// BusiestSubMsgs is the messages of the node's busiest subscription,
	// under load the one that follows the log.
	BusiestSubMsgs int64
}

// natsQueryBound bounds one request to a monitoring endpoint.
const natsQueryBound = 5 * time.Second

// sampleNATS asks each monitor for its client connections with their
// subscriptions (/connz?subs=detail).
func sampleNATS(monitors []string) (natsSample, error) {
	s := natsSample{}
	client := &http.Client{Timeout: natsQueryBound}
	for _, m := range monitors {
		resp, err := client.Get("http://" + m + "/connz?subs=detail&limit=1024")
		if err != nil {
			return nil, fmt.Errorf("NATS monitor %s: %w", m, err)
		}
		var connz struct {
			Conns []struct {
				Cid     uint64 `json:"cid"`
				Name    string `json:"name"`
				OutMsgs int64  `json:"out_msgs"`
				Subs    []struct {
					Sid  string `json:"sid"`
					Msgs int64  `json:"msgs"`
				} `json:"subscriptions_list_detail"`
			} `json:"connections"`
		}
		err = json.NewDecoder(resp.Body).Decode(&connz)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("NATS monitor %s: /connz: %w", m, err)
		}
		for _, c := range connz.Conns {
			nc := s[c.Name]
			if nc == nil {
				nc = &natsClient{subMsgs: map[string]int64{}}
				s[c.Name] = nc
			}
			nc.outMsgs += c.OutMsgs
			for _, sub := range c.Subs {
				nc.subMsgs[fmt.Sprintf("%s/%d/%s", m, c.Cid, sub.Sid)] = sub.Msgs
			}
		}
	}
	return s, nil
}

// since is what was delivered between before and s, by connection name.
// A connection or subscription that is new counts from zero.
func (s natsSample) since(before natsSample) []NATSNode {
	var nodes []NATSNode
	for name, c := range s {
		n := NATSNode{Name: name, Msgs: c.outMsgs}
		prev := before[name]
		if prev != nil {
			n.Msgs -= prev.outMsgs
		}
		for key, msgs := range c.subMsgs {
			if prev != nil {
				msgs -= prev.subMsgs[key]
			}
			n.BusiestSubMsgs = max(n.BusiestSubMsgs, msgs)
		}
		nodes = append(nodes, n)
	}
	slices.SortFunc(nodes, func(a, b NATSNode) int { return cmp.Compare(a.Name, b.Name) })
	return nodes
}
