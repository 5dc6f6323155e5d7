package core

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultMute is how long /mute silences someone when no duration is given.
const DefaultMute = 10 * time.Minute

// maxModerationTime bounds a ban or mute duration; longer is permanent.
const maxModerationTime = 10 * 365 * 24 * time.Hour

// WithBans keeps the operators' bans in l (a file, say) instead of in
// memory.
func WithBans(l BanList) Option { return func(h *Hub) { h.bans = l } }

func operatorCommands() []*Command {
	return []*Command{
		{Name: "motd", Args: "[TEXT | -]", Help: "show the message of the day; operators set it (- clears it)", run: (*Session).cmdMotd},
		{Name: "kick", Args: "NAME [reason]", Help: "operators: disconnect someone, telling them why", Operator: true, run: (*Session).cmdKick},
		{Name: "ban", Args: "NAME [DURATION] [reason]", Help: "operators: disconnect someone and keep out their key and address (30m, 2h, 7d; no duration: for good)", Operator: true, run: (*Session).cmdBan},
		{Name: "unban", Args: "FINGERPRINT | IP", Help: "operators: lift a ban", Operator: true, run: (*Session).cmdUnban},
		{Name: "bans", Help: "operators: the bans in force", Operator: true, run: (*Session).cmdBans},
		{Name: "mute", Args: "NAME [DURATION]", Help: "operators: refuse someone's messages for a while (10m unless given)", Operator: true, run: (*Session).cmdMute},
		{Name: "unmute", Args: "NAME", Help: "operators: undo /mute", Operator: true, run: (*Session).cmdUnmute},
	}
}

// isOperator: operators are the users whose authenticated SSH key
// (fingerprint) is listed in the config. Keyless and browser users never
// are. It needs no lock.
func (h *Hub) isOperator(fingerprint string) bool {
	return fingerprint != "" && slices.Contains(*h.operators.Load(), fingerprint)
}

// Operator reports whether the user may use the operator commands.
func (s *Session) Operator() bool { return s.h.isOperator(s.u.fingerprint) }

// Commands lists the commands this user may use: operator commands only
// for operators.
func (s *Session) Commands() []Command {
	op := s.Operator()
	var out []Command
	for _, c := range Commands() {
		if !c.Operator || op {
			out = append(out, c)
		}
	}
	return out
}

// Motd is the message of the day, "" for none.
func (s *Session) Motd() string {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.h.motd
}

// admitLocked refuses a banned client. Operators are never refused, so a
// ban on a shared address cannot lock them out.
func (h *Hub) admitLocked(info ConnectInfo) error {
	if h.isOperator(info.Fingerprint) {
		return nil
	}
	ip, _ := parseAddr(info.IP)
	if b, ok := h.bans.Check(info.Fingerprint, ip, h.now()); ok {
		h.watch.refused(RefusedBanned)
		return &BannedError{Reason: b.Reason, Until: b.Until}
	}
	return nil
}

// muteKeys are what a mute is remembered by, so that reconnecting does not
// lift it: the user's key, and their address unless it is exempt.
func (h *Hub) muteKeysLocked(u *user) []string {
	var keys []string
	if u.fingerprint != "" {
		keys = append(keys, "key "+u.fingerprint)
	}
	if ip, ok := parseAddr(u.ip); ok && !h.exempt.contains(ip) {
		keys = append(keys, "ip "+clientPrefix(ip).String())
	}
	return keys
}

// inheritMuteLocked applies a mute remembered for a new user's key or
// address.
func (h *Hub) inheritMuteLocked(u *user) {
	now := h.now()
	for _, k := range h.muteKeysLocked(u) {
		if m, ok := h.mutes[k]; ok && now.Before(m.until) && m.until.After(u.mute.until) {
			u.mute = m
		}
	}
}

// operatorMuteLocked refuses a message from a user an operator muted.
func (h *Hub) operatorMuteLocked(u *user) error {
	now := h.now()
	if !now.Before(u.mute.until) {
		return nil
	}
	h.watch.refused(RefusedOperatorMute)
	return fmt.Errorf("you were muted by %s: %s left", u.mute.by, roundUp(u.mute.until.Sub(now)))
}

// modMute is an operator's mute.
type modMute struct {
	until time.Time
	by    string
}

// moderationTargetLocked finds the online user an operator names.
func (h *Hub) moderationTargetLocked(op *user, name string) (*user, error) {
	t := h.byName[NameKey(strings.TrimPrefix(name, "@"))]
	switch {
	case t == nil:
		return nil, fmt.Errorf("no one called %s is online", strings.ToValidUTF8(name, "?"))
	case t == op:
		return nil, errors.New("that is you")
	case h.isOperator(t.fingerprint):
		return nil, fmt.Errorf("%s is an operator: operators are listed in the server's config", t.name)
	}
	return t, nil
}

// parseModerationTime reads a duration such as 30m, 2h, 7d or 2w.
func parseModerationTime(s string) (time.Duration, bool) {
	var d time.Duration
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); (unit == "d" || unit == "w") && n != "" {
		v, err := strconv.Atoi(n)
		if err != nil || v > 100000 {
			return 0, false
		}
		d = time.Duration(v) * 24 * time.Hour
		if unit == "w" {
			d *= 7
		}
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, false
		}
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, maxModerationTime), true
}

// describeFor says how long a ban or mute lasts.
func describeFor(d time.Duration) string {
	switch {
	case d == 0:
		return "for good"
	case d%(24*time.Hour) == 0:
		return fmt.Sprintf("for %dd", d/(24*time.Hour))
	}
	s := d.String() // "2h0m0s": drop the zero units at its end
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return "for " + s
}

// withReason appends ": reason" when there is one.
func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + ": " + reason
}

// cleanReason validates an operator's reason like a message.
func (h *Hub) cleanReason(reason string) (string, error) {
	if reason == "" {
		return "", nil
	}
	r, err := CleanMessage(reason, h.cfg.Limits.MessageChars)
	if err != nil {
		return "", fmt.Errorf("reason: %w", err)
	}
	return r, nil
}

// moderatedLocked reports an operator's action to the observer and to the
// operator.
// op is nil when the operator has gone meanwhile; by is their name.
func (h *Hub) moderatedLocked(op *user, by, target, summary string) {
	var transport Transport
	if op != nil {
		transport = op.transport
		h.pushLocked(op, Event{Kind: EventNotice, Text: summary})
	}
	h.monitorLocked(MonitorEvent{Kind: MonitorModeration, Name: target, Operator: by, Transport: transport, Text: summary})
}

// roomNoticeLocked posts a system line about u in each of u's rooms.
func (h *Hub) roomNoticeLocked(u *user, text string) {
	for _, c := range u.convs {
		if c.kind == Room {
			notice := h.postLocked(c, System, Member{}, text)
			h.deliverLocked(Event{Kind: EventMessage, Conv: c.id, Msg: notice})
		}
	}
}

func (s *Session) cmdKick(args string) error {
	name, reason, _ := strings.Cut(args, " ")
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	reason, err := h.cleanReason(strings.TrimSpace(reason))
	if err != nil {
		return err
	}
	t, err := h.moderationTargetLocked(s.u, name)
	if err != nil {
		return err
	}
	why := withReason("kicked by "+s.u.name, reason)
	h.commitLocked(Entry{Kind: EntryKick, User: s.u.id, Peer: t.id, Text: why, Cause: EndKicked})
	h.moderatedLocked(s.u, s.u.name, t.name, withReason(s.u.name+" kicked "+t.name, reason))
	return nil
}

func (s *Session) cmdBan(args string) error {
	name, rest, _ := strings.Cut(args, " ")
	rest = strings.TrimSpace(rest)
	first, after, _ := strings.Cut(rest, " ")
	var length time.Duration
	if d, ok := parseModerationTime(first); ok {
		length, rest = d, strings.TrimSpace(after)
	}
	h := s.h
	h.mu.Lock()
	reason, err := h.cleanReason(rest)
	if err != nil {
		h.unlock()
		return err
	}
	t, err := h.moderationTargetLocked(s.u, name)
	if err != nil {
		h.unlock()
		return err
	}
	now := h.now()
	b := Ban{Fingerprint: t.fingerprint, Name: t.name, Reason: reason, By: s.u.name, Since: now}
	if length > 0 {
		b.Until = now.Add(length)
	}
	if ip, ok := parseAddr(t.ip); ok && !h.exempt.contains(ip) {
		b.Prefix = clientPrefix(ip)
	}
	bans := h.bans
	h.unlock()
	if b.Fingerprint == "" && !b.Prefix.IsValid() {
		return fmt.Errorf("%s has no SSH key and an address exempt from per-address limits, so a ban could not hold: /kick them instead", t.name)
	}

	// A ban list may write a file: never with the hub locked.
	if err := bans.Add(b, now); err != nil {
		return fmt.Errorf("the ban could not be saved, so no one was banned: %w", err)
	}

	h.mu.Lock()
	defer h.unlock()
	why := withReason("banned by "+s.u.name+" "+describeFor(length), reason)
	for _, u := range h.users {
		uip, _ := parseAddr(u.ip)
		if u == t || (!h.isOperator(u.fingerprint) && b.Covers(u.fingerprint, uip)) {
			h.commitLocked(Entry{Kind: EntryKick, User: s.u.id, Peer: u.id, Text: why, Cause: EndBanned})
		}
	}
	h.moderatedLocked(s.u, s.u.name, b.Name, withReason(fmt.Sprintf("%s banned %s (%s) %s", s.u.name, b.Name, b.Target(), describeFor(length)), reason))
	return nil
}

func (s *Session) cmdUnban(args string) error {
	if strings.Contains(args, " ") {
		return errors.New("usage: /unban FINGERPRINT or /unban IP (as /bans shows them)")
	}
	target, err := ParseBanTarget(args)
	if err != nil {
		return err
	}
	h := s.h
	h.mu.Lock()
	bans, now := h.bans, h.now()
	h.unlock()
	removed, err := bans.Remove(target, now)
	if err != nil {
		return fmt.Errorf("the ban list could not be saved, so nothing was lifted: %w", err)
	}
	if len(removed) == 0 {
		return fmt.Errorf("no ban matches %s: /bans lists them", args)
	}
	names := make([]string, len(removed))
	for i, b := range removed {
		names[i] = b.Name + " (" + b.Target() + ")"
	}
	h.mu.Lock()
	defer h.unlock()
	h.moderatedLocked(s.u, s.u.name, args, s.u.name+" lifted the ban on "+strings.Join(names, ", "))
	return nil
}

func (s *Session) cmdBans(string) error {
	h := s.h
	h.mu.Lock()
	bans, now := h.bans, h.now()
	h.unlock()
	list := bans.List(now)
	lines := make([]string, 0, len(list)+1)
	for _, b := range list {
		until := "for good"
		if !b.Until.IsZero() {
			until = "until " + b.Until.UTC().Format("2006-01-02 15:04 MST") + ", " + roundUp(b.Until.Sub(now)).String() + " left"
		}
		lines = append(lines, withReason(fmt.Sprintf("%s  %s  %s, by %s", b.Name, b.Target(), until, b.By), b.Reason))
	}
	if len(lines) == 0 {
		lines = append(lines, "no one is banned")
	} else {
		lines = append(lines, "", "/unban FINGERPRINT or /unban IP lifts a ban.")
	}
	s.info(fmt.Sprintf("%d bans", len(list)), lines)
	return nil
}

func (s *Session) cmdMute(args string) error {
	name, rest, _ := strings.Cut(args, " ")
	length := DefaultMute
	if rest = strings.TrimSpace(rest); rest != "" {
		d, ok := parseModerationTime(rest)
		if !ok {
			return fmt.Errorf("%q is not a duration: use 10m, 2h or 1d", strings.ToValidUTF8(rest, "?"))
		}
		length = d
	}
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	t, err := h.moderationTargetLocked(s.u, name)
	if err != nil {
		return err
	}
	h.commitLocked(Entry{Kind: EntryMute, User: s.u.id, Peer: t.id, Until: h.now().Add(length), Text: describeFor(length), Note: s.u.name})
	return nil
}

// muteLocked applies an operator's mute of t, called by.
func (h *Hub) muteLocked(op *user, by string, t *user, until time.Time, length string) {
	now := h.now()
	t.mute = modMute{until: until, by: by}
	for k, m := range h.mutes {
		if !now.Before(m.until) {
			delete(h.mutes, k)
		}
	}
	for _, k := range h.muteKeysLocked(t) {
		h.mutes[k] = t.mute
	}
	h.pushLocked(t, Event{Kind: EventNotice, Text: fmt.Sprintf("%s muted you %s: your messages are refused until then", by, length)})
	h.roomNoticeLocked(t, fmt.Sprintf("%s was muted by %s %s", t.name, by, length))
	h.moderatedLocked(op, by, t.name, fmt.Sprintf("%s muted %s %s", by, t.name, length))
}

func (s *Session) cmdUnmute(args string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	t, err := h.moderationTargetLocked(s.u, args)
	if err != nil {
		return err
	}
	if !h.now().Before(t.mute.until) {
		return fmt.Errorf("%s is not muted", t.name)
	}
	h.commitLocked(Entry{Kind: EntryUnmute, User: s.u.id, Peer: t.id, Note: s.u.name})
	return nil
}

// unmuteLocked applies an operator's lifting of t's mute, called by.
func (h *Hub) unmuteLocked(op *user, by string, t *user) {
	t.mute = modMute{}
	for _, k := range h.muteKeysLocked(t) {
		delete(h.mutes, k)
	}
	h.pushLocked(t, Event{Kind: EventNotice, Text: by + " unmuted you: you can talk again"})
	h.roomNoticeLocked(t, t.name+" was unmuted by "+by)
	h.moderatedLocked(op, by, t.name, by+" unmuted "+t.name)
}

// cmdMotd shows the message of the day; operators set or clear it.
func (s *Session) cmdMotd(args string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	if args == "" {
		motd := h.motd
		if motd == "" {
			motd = "there is no message of the day"
		}
		h.pushLocked(s.u, Event{Kind: EventInfo, Text: "Message of the day", Lines: []string{motd}})
		return nil
	}
	if !h.isOperator(s.u.fingerprint) {
		return errors.New("only operators can set the message of the day")
	}
	motd := ""
	if args != "-" {
		var err error
		if motd, err = CleanMessage(args, h.cfg.Limits.MessageChars); err != nil {
			return fmt.Errorf("message of the day: %w", err)
		}
	}
	h.commitLocked(Entry{Kind: EntryMotd, User: s.u.id, Text: motd, Note: s.u.name})
	return nil
}

// motdLocked applies an operator's new message of the day ("" clears it).
func (h *Hub) motdLocked(op *user, by, motd string) {
	h.motd = motd
	if motd == "" {
		h.moderatedLocked(op, by, "", by+" cleared the message of the day")
		return
	}
	for _, u := range h.users {
		if u != op {
			h.pushLocked(u, Event{Kind: EventNotice, Text: "message of the day: " + motd})
		}
	}
	h.moderatedLocked(op, by, "", by+" set the message of the day")
}

// welcomeLocked is the home screen's text: the welcome message, then the
// message of the day.
func (h *Hub) welcomeLocked() string {
	if h.motd == "" {
		return h.cfg.Welcome
	}
	return h.cfg.Welcome + "\n\nMessage of the day: " + h.motd
}
