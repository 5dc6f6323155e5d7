package core

import (
	"errors"
	"fmt"
	"time"
)

// Config is what the core needs to know of the operator's settings.
type Config struct {
	// DefaultRoom is the room /chatroom joins and new users arrive in.
	DefaultRoom string
	// AutoJoin puts every new user in DefaultRoom.
	AutoJoin bool
	// AllowUserRooms lets users create ephemeral rooms with /join #name.
	AllowUserRooms bool
	// Welcome is shown on the home screen; it may span several lines.
	Welcome string
	// Rooms always exist, whether anyone is in them or not.
	Rooms  []RoomConfig
	Limits Limits
	// Operators are the SHA256 fingerprints ("SHA256:…", as ssh-keygen -l
	// prints them) of the SSH keys whose users may moderate.
	Operators []string
	// Reserved binds names to SSH keys: a name, and every name that looks
	// the same to NameKey, is held only by a session authenticated with
	// one of its SHA256 fingerprints.
	Reserved map[string][]string
	// Motd is the message of the day at start; operators change it with
	// /motd. It is shown on the home screen after the welcome message.
	Motd string
}

// RoomConfig describes one permanent room.
type RoomConfig struct {
	Name        string
	Description string
	// Hidden rooms are missing from /rooms but can be joined by name.
	Hidden bool
	// PasswordHash is a bcrypt hash; empty means no password.
	PasswordHash string
	// MaxMembers caps the room; 0 means no cap.
	MaxMembers int
}

// Limits are the per-user and per-conversation bounds of DESIGN §3.
type Limits struct {
	MessageChars int           // longest message, in characters
	NameCells    int           // widest name, in terminal cells
	History      int           // messages kept per conversation
	RateBurst    int           // messages a user may send at once
	RatePerSec   float64       // steady message rate after the burst
	RateWarnings int           // refused messages before a mute
	MuteFor      time.Duration // how long a flooder stays muted
	MutedStrikes int           // messages tried while muted before disconnect
	// RenameBurst renames may follow each other, then RenamesPerMinute;
	// a rename also counts as a message.
	RenameBurst      int
	RenamesPerMinute float64
	WrongCodes       int // wrong /join codes per minute, per user and per IP
	// PasswordWorkers room passwords are hashed or checked at once in the
	// whole server, PasswordQueue more wait; beyond that they are refused.
	PasswordWorkers int
	PasswordQueue   int
	// PasswordChecks is how many room passwords one user, and one
	// address, may have hashed or checked per minute.
	PasswordChecks int
	OutboxSize     int           // events queued for a session before it misses some
	SlowTimeout    time.Duration // how long a session may stay behind before it is cut off
	MaxRooms       int           // rooms in existence at once, config rooms included
	// JoinNoticesUpTo is the largest room whose joins and leaves are
	// posted as notices; in a bigger one they would drown the talk, so
	// only the member count changes. 0 means every room posts them.
	JoinNoticesUpTo   int
	ConnsPerIP        int // connections open at once from one address (IPv6: per /64)
	NewConnsPerMinute int // new connections per minute from one address
	// ExemptIPs (addresses or CIDR prefixes) are not limited per address:
	// loopback by default, so local load tests work.
	ExemptIPs []string
	// MemberEventsUpTo is the largest room whose members are told of each
	// join and leave that posts no notice; a bigger room tells them its
	// member count instead, at most once per MemberCountInterval, so a
	// crowd arriving costs each member a few updates a second rather than
	// one per arrival. 0 means every room tells each one.
	MemberEventsUpTo    int
	MemberCountInterval time.Duration
	// WrongCodesServer caps the wrong codes and passwords per minute from
	// everyone together; past it every guess waits.
	WrongCodesServer int
}

// DefaultConfig returns the defaults of DESIGN §3.
func DefaultConfig() Config {
	return Config{
		DefaultRoom:    "lobby",
		AutoJoin:       true,
		AllowUserRooms: true,
		Welcome:        "Welcome to Parley. Share your code to start a private chat, or /join #room.",
		Rooms:          []RoomConfig{{Name: "lobby", Description: "Everyone starts here"}},
		Limits:         DefaultLimits(),
		Operators:      []string{},
	}
}

// DefaultLimits returns the default limits of DESIGN §3.
func DefaultLimits() Limits {
	return Limits{
		MessageChars:      500,
		NameCells:         24,
		History:           100,
		RateBurst:         10,
		RatePerSec:        2,
		RateWarnings:      3,
		MuteFor:           30 * time.Second,
		MutedStrikes:      20,
		RenameBurst:       3,
		RenamesPerMinute:  2,
		WrongCodes:        5,
		PasswordWorkers:   1,
		PasswordQueue:     8,
		PasswordChecks:    10,
		WrongCodesServer:  300,
		OutboxSize:        512,
		SlowTimeout:       15 * time.Second,
		MaxRooms:          1000,
		JoinNoticesUpTo:   100,
		ConnsPerIP:        20,
		NewConnsPerMinute: 30,
		ExemptIPs:         []string{"127.0.0.0/8", "::1"},

		MemberEventsUpTo:    100,
		MemberCountInterval: 500 * time.Millisecond,
	}
}

// Validate checks a config before the hub takes it.
func (c Config) Validate() error {
	l := c.Limits
	for _, v := range []struct {
		name string
		ok   bool
	}{
		{"message_chars", l.MessageChars >= 1 && l.MessageChars <= 10000},
		{"name_cells", l.NameCells >= 3 && l.NameCells <= 64},
		{"history", l.History >= 0 && l.History <= 100000},
		{"rate_burst", l.RateBurst >= 1},
		{"rate_per_second", l.RatePerSec > 0},
		{"rate_warnings", l.RateWarnings >= 0},
		{"mute_for", l.MuteFor >= 0},
		{"muted_strikes", l.MutedStrikes >= 0},
		{"rename_burst", l.RenameBurst >= 1},
		{"renames_per_minute", l.RenamesPerMinute > 0},
		{"wrong_codes_per_minute", l.WrongCodes >= 1},
		{"password_workers", l.PasswordWorkers >= 1 && l.PasswordWorkers <= 64},
		{"password_queue", l.PasswordQueue >= 0 && l.PasswordQueue <= 10000},
		{"password_checks_per_minute", l.PasswordChecks >= 1},
		{"server_wrong_codes_per_minute", l.WrongCodesServer >= l.WrongCodes},
		{"outbox_size", l.OutboxSize >= 16},
		{"slow_timeout", l.SlowTimeout >= time.Second},
		{"max_rooms", l.MaxRooms >= len(c.Rooms)},
		{"join_notices_up_to", l.JoinNoticesUpTo >= 0},
		{"member_events_up_to", l.MemberEventsUpTo >= 0},
		{"member_count_interval", l.MemberCountInterval >= 10*time.Millisecond && l.MemberCountInterval <= 10*time.Second},
		{"conns_per_ip", l.ConnsPerIP >= 0},
		{"new_conns_per_minute", l.NewConnsPerMinute >= 0},
	} {
		if !v.ok {
			return settingError("limits."+v.name, -1, fmt.Errorf("limit %s is out of range", v.name))
		}
	}
	if _, err := parseIPSet(l.ExemptIPs); err != nil {
		return settingError("limits.exempt_ips", -1, err)
	}
	seen := map[string]bool{}
	for i, r := range c.Rooms {
		name, err := CleanRoomName(r.Name)
		if err != nil {
			return settingError("rooms.name", i, err)
		}
		if seen[name] {
			return settingError("rooms.name", i, fmt.Errorf("room #%s is defined twice", name))
		}
		seen[name] = true
		if _, err := CleanDescription(r.Description); err != nil && !errors.Is(err, ErrEmpty) {
			return settingError("rooms.description", i, fmt.Errorf("room #%s: description: %w", name, err))
		}
		if r.MaxMembers < 0 {
			return settingError("rooms.max_members", i, fmt.Errorf("room #%s: max_members must not be negative", name))
		}
	}
	for _, fp := range c.Operators {
		if err := checkFingerprint(fp); err != nil {
			return settingError("operators", -1, fmt.Errorf("operators: %w", err))
		}
	}
	if err := checkReserved(c.Reserved, l.NameCells); err != nil {
		return settingError("reserved", -1, err)
	}
	if c.Motd != "" {
		if _, err := CleanMessage(c.Motd, l.MessageChars); err != nil {
			return settingError("motd", -1, fmt.Errorf("motd: %w", err))
		}
	}
	def, err := CleanRoomName(c.DefaultRoom)
	if err != nil {
		return settingError("default_room", -1, fmt.Errorf("default_room: %w", err))
	}
	if !seen[def] {
		return settingError("default_room", -1, fmt.Errorf("default_room #%s is not one of the configured rooms", def))
	}
	return nil
}

// SettingError is a Validate error about one setting, so that a config
// file reader can point at the line that holds it.
type SettingError struct {
	// Key is the setting's key in the config file: "limits.history",
	// "default_room", "rooms.name".
	Key string
	// Room is the index in Config.Rooms of the room concerned, or -1.
	Room int
	Err  error
}

func (e *SettingError) Error() string { return e.Err.Error() }

func (e *SettingError) Unwrap() error { return e.Err }

func settingError(key string, room int, err error) error {
	return &SettingError{Key: key, Room: room, Err: err}
}
