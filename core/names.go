package core

import (
	"crypto/rand"
	"math/big"
)

var adjectives = []string{
	"amber", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring",
	"dusty", "eager", "fancy", "fuzzy", "gentle", "giddy", "golden", "happy",
	"hazy", "humble", "icy", "jolly", "keen", "lively", "lucky", "mellow",
	"merry", "misty", "nimble", "noble", "odd", "plucky", "polite", "proud",
	"quick", "quiet", "rapid", "rosy", "rusty", "shy", "silent", "silly",
	"sleepy", "snowy", "solar", "spry", "steady", "sunny", "swift", "tidy",
	"tiny", "vivid", "wandering", "warm", "wise", "witty", "young", "zesty",
}

var animals = []string{
	"otter", "badger", "beaver", "bison", "crane", "dingo", "eagle", "falcon",
	"ferret", "finch", "fox", "gecko", "heron", "ibis", "jackal", "koala",
	"lemur", "lynx", "marmot", "mole", "moose", "newt", "ocelot", "orca",
	"owl", "panda", "puffin", "quail", "rabbit", "raven", "seal", "shrew",
	"sloth", "sparrow", "squid", "stoat", "swan", "tapir", "tiger", "toad",
	"turtle", "viper", "walrus", "weasel", "whale", "wolf", "wombat", "yak",
}

func pick(list []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(list))))
	if err != nil {
		return list[0]
	}
	return list[n.Int64()]
}

// randomName proposes an adjective-animal name; taken reports whether a
// candidate is in use. After a few collisions a number is appended.
func randomName(taken func(string) bool) string {
	for i := 0; ; i++ {
		name := pick(adjectives) + "-" + pick(animals)
		if i >= 8 {
			n, _ := rand.Int(rand.Reader, big.NewInt(10000))
			name += "-" + n.String()
		}
		if !taken(name) {
			return name
		}
	}
}
