package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Command is one slash command. The one registry feeds the parser, /help,
// Tab completion and the web client's hints.
type Command struct {
	Name    string   // without the slash
	Aliases []string // other spellings, with their prefix: "/close", ":q"
	Args    string   // argument synopsis for help
	Help    string   // one line
	// Operator commands are for operators only, and listed only to them.
	Operator bool
	run      func(s *Session, args string) error
}

// needsArgs says whether the command takes arguments it cannot do
// without: its synopsis names them outside brackets.
func (c *Command) needsArgs() bool { return c.Args != "" && !strings.HasPrefix(c.Args, "[") }

var registry []*Command

func init() {
	registry = []*Command{
		{Name: "join", Aliases: []string{":join"}, Args: "CODE | #room [password]", Help: "open a private chat with CODE, or join a room", run: (*Session).cmdJoin},
		{Name: "chatroom", Aliases: []string{":chat"}, Help: "join the default room", run: (*Session).cmdChatroom},
		{Name: "dm", Aliases: []string{":dm"}, Args: "NAME", Help: "private chat with someone in one of your rooms", run: (*Session).DM},
		{Name: "msg", Args: "NAME TEXT", Help: "send one private message without leaving this conversation", run: (*Session).cmdMsg},
		{Name: "reply", Args: "[TEXT]", Help: "answer the last person who wrote to you privately (no text: go to that chat)", run: (*Session).cmdReply},
		{Name: "name", Aliases: []string{"/nick"}, Args: "NEWNAME", Help: "change your name", run: (*Session).Rename},
		{Name: "list", Aliases: []string{":list", "/who"}, Help: "who is in this conversation", run: (*Session).cmdList},
		{Name: "listall", Aliases: []string{":listall"}, Help: "everyone online and where to find them", run: (*Session).cmdListAll},
		{Name: "whois", Args: "NAME", Help: "how someone is connected and the key they logged in with", run: (*Session).cmdWhois},
		{Name: "rooms", Aliases: []string{":rooms"}, Help: "the listed rooms", run: (*Session).cmdRooms},
		{Name: "leave", Aliases: []string{"/close", ":close", "/part"}, Help: "leave this conversation", run: (*Session).cmdLeave},
		{Name: "switch", Args: "#room | NAME", Help: "make another of your conversations current", run: (*Session).cmdSwitch},
		{Name: "me", Args: "ACTION", Help: "say what you are doing: /me waves", run: (*Session).cmdMe},
		{Name: "block", Args: "[NAME]", Help: "hide someone's messages and chat requests (no name: list them)", run: (*Session).cmdBlock},
		{Name: "unblock", Args: "NAME", Help: "undo /block", run: (*Session).Unblock},
		{Name: "video", Help: "in a private chat: start a video call (a terminal gets a link to open in a browser)", run: (*Session).cmdVideo},
		{Name: "home", Aliases: []string{":q"}, Help: "leave the chat view for the home screen (also Esc)", run: (*Session).cmdHome},
		{Name: "help", Aliases: []string{":help", "/?"}, Help: "this list", run: (*Session).cmdHelp},
		{Name: "quit", Aliases: []string{":quit", "/exit"}, Help: "leave everything and disconnect (also Ctrl-C)", run: (*Session).cmdQuit},
	}
	registry = append(registry, operatorCommands()...)
}

// Commands lists the commands, for help screens and completion.
func Commands() []Command {
	out := make([]Command, len(registry))
	for i, c := range registry {
		out[i] = *c
		out[i].run = nil
	}
	return out
}

// maxCommandLine bounds what the parser looks at: no command needs more.
const maxCommandLine = 4096

// ParseCommand splits a typed line into a command and its arguments. It
// returns a nil command for an ordinary message, including one that starts
// with ":" but is not a chatsock alias, and one escaped with "//". An
// unknown slash command is an error that points to /help.
func ParseCommand(line string) (*Command, string, error) {
	if len(line) > maxCommandLine {
		if strings.HasPrefix(line, "/") && !strings.HasPrefix(line, "//") {
			return nil, "", errors.New("command too long")
		}
		return nil, "", nil
	}
	trimmed := strings.TrimLeft(line, " ")
	if !strings.HasPrefix(trimmed, "/") && !strings.HasPrefix(trimmed, ":") || strings.HasPrefix(trimmed, "//") {
		return nil, "", nil
	}
	word, args, _ := strings.Cut(trimmed, " ")
	args = strings.TrimSpace(args)
	word = strings.ToLower(word)
	for _, c := range registry {
		if word == "/"+c.Name {
			return c, args, nil
		}
		for _, a := range c.Aliases {
			if word == a {
				return c, args, nil
			}
		}
	}
	if strings.HasPrefix(word, ":") {
		return nil, "", nil
	}
	if len(word) > 32 {
		word = word[:32] + "…"
	}
	return nil, "", fmt.Errorf("unknown command %s: type /help for the list", strings.ToValidUTF8(word, "?"))
}

func (s *Session) info(title string, lines []string) {
	s.h.mu.Lock()
	defer s.h.unlock()
	s.h.pushLocked(s.u, Event{Kind: EventInfo, Text: title, Lines: lines})
}

func (s *Session) cmdHelp(string) error {
	cmds := s.Commands()
	lines := make([]string, 0, len(cmds)+2)
	for _, c := range cmds {
		syn := "/" + c.Name
		if c.Args != "" {
			syn += " " + c.Args
		}
		mark := "  "
		if c.Operator {
			mark = "@ "
		}
		lines = append(lines, fmt.Sprintf("%s%-30s %s", mark, syn, c.Help))
	}
	lines = append(lines, "", "Text that is not a command is sent to the current conversation; start it with // to send a leading /.")
	title := "Commands"
	if s.Operator() {
		title = "Commands — you are an operator (@: operator commands)"
	}
	s.info(title, lines)
	return nil
}

func (s *Session) cmdQuit(string) error {
	s.Close("quit")
	go s.u.disconnect("bye")
	return nil
}

func (s *Session) cmdHome(string) error { return s.Switch("") }

func (s *Session) cmdMe(args string) error { return s.act(args, "", true) }

func (s *Session) cmdChatroom(string) error {
	return s.Join(s.h.defaultRoom(), "")
}

func (h *Hub) defaultRoom() string {
	h.mu.Lock()
	defer h.unlock()
	return h.cfg.DefaultRoom
}

// cmdJoin: "#room [password]" is a room; a bare word is a code when it
// looks like one, else a room.
func (s *Session) cmdJoin(args string) error {
	target, password, _ := strings.Cut(args, " ")
	password = strings.TrimSpace(password)
	if !strings.HasPrefix(target, "#") {
		if code := joinCode(target); code != "" {
			room, err := CleanRoomName(target)
			if err != nil {
				room = ""
			}
			if err := s.openByCode(code, target, room); !errors.Is(err, errRoomNamed) {
				return roomHint(err, target)
			}
		}
	}
	return s.Join(target, password)
}

// errRoomNamed says that what looked like a code names an existing room.
var errRoomNamed = errors.New("a room has that name")

// openByCode opens a private chat with the holder of code. Every failure
// reads the same, so codes cannot be probed, and counts against the
// per-user and per-IP limits. When room (the code read as a room's name)
// is not "" and that room exists, it returns errRoomNamed instead.
func (s *Session) openByCode(code, typed, room string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	if room != "" && h.convs["#"+room] != nil {
		return errRoomNamed
	}
	u := s.u
	if err := h.chargeLocked(u, actPrivate); err != nil {
		return err
	}
	if err := h.guessWaitLocked(u); err != nil {
		return err
	}
	if code == u.code {
		return errors.New("that is your own code: share it with someone so they can /join it")
	}
	t := h.byCode[code]
	if t == nil || blocks(t, u) {
		h.wrongGuessLocked(u)
		h.watch.refused(RefusedWrongCode)
		return noCodeError{typed}
	}
	h.openPrivateWithLocked(u, t)
	return nil
}

// openPrivateWithLocked decides a private chat between u and t, or makes
// the one they have current.
func (h *Hub) openPrivateWithLocked(u, t *user) {
	id := privateID(u, t)
	if c := h.convs[id]; c != nil {
		h.setCurrentLocked(u, c)
		return
	}
	h.commitLocked(Entry{Kind: EntryOpen, User: u.id, Peer: t.id, Conv: id})
}

func blocks(owner, other *user) bool {
	_, ok := owner.blocked[other.id]
	return ok
}

// ipWindowLocked returns the per-address counter (IPv6 per /64) for
// wrong codes and passwords, or nil for exempt and unknown addresses.
func (h *Hub) ipWindowLocked(addr string) *window { return h.addrWindowLocked(addr, "") }

// addrWindowLocked is ipWindowLocked for the counter named kind.
func (h *Hub) addrWindowLocked(addr, kind string) *window {
	ip, ok := parseAddr(addr)
	if !ok || h.exempt.contains(ip) {
		return nil
	}
	key := kind + clientPrefix(ip).String()
	w := h.ipCodes[key]
	if w == nil {
		w = &window{}
		h.ipCodes[key] = w
	}
	return w
}

func privateID(a, b *user) string {
	if a.id > b.id {
		a, b = b, a
	}
	return fmt.Sprintf("@%d-%d", a.id, b.id)
}

func (h *Hub) openPrivateLocked(u, t *user) {
	id := privateID(u, t)
	if c := h.convs[id]; c != nil {
		h.setCurrentLocked(u, c)
		return
	}
	c := newConv(id, Private)
	h.convs[id] = c
	c.add(u)
	c.add(t)
	h.postLocked(c, System, Member{}, u.name+" opened a private chat with "+t.name)
	h.monitorLocked(MonitorEvent{Kind: MonitorPrivateOpened})
	u.convs = append(u.convs, c)
	t.convs = append(t.convs, c)
	h.pushLocked(u, Event{Kind: EventConvOpened, Conv: id, View: c.openedView(u, u)})
	// The other side's transport moves them into the chat, or tells them
	// of it while they type: it alone knows whether they are.
	h.pushLocked(t, Event{Kind: EventConvOpened, Conv: id, View: c.openedView(t, u)})
	h.setCurrentLocked(u, c)
}

// Join joins the room target ("#name" or "name"), with its password if
// it has one, creating it where the server lets users create rooms, and
// makes it current.
func (s *Session) Join(target, password string) error {
	name, err := CleanRoomName(target)
	if err != nil {
		return err
	}
	if password != "" {
		if _, err := CleanMessage(password, 72); err != nil {
			return errors.New("invalid password: " + err.Error())
		}
	}
	h := s.h
	id := "#" + name
	h.mu.Lock()
	c := h.convs[id]
	switch {
	case c != nil && c.has(s.u):
		h.setCurrentLocked(s.u, c)
		h.unlock()
		return nil
	case c == nil && !h.cfg.AllowUserRooms:
		h.unlock()
		return fmt.Errorf("no room called %s (this server does not let users create rooms)", id)
	case c == nil && h.roomCountLocked() >= h.cfg.Limits.MaxRooms:
		h.unlock()
		return errors.New("the server has too many rooms right now: join an existing one")
	}
	if err := h.chargeLocked(s.u, actJoin); err != nil {
		h.unlock()
		return err
	}
	var hash string
	if c != nil {
		hash = c.passHash
		if hash != "" {
			if err := h.guessWaitLocked(s.u); err != nil {
				h.unlock()
				return err
			}
		}
	}
	var gate *passwordGate
	if password != "" && (hash != "" || c == nil) {
		if gate, err = h.passwordWorkLocked(s.u); err != nil {
			h.unlock()
			return err
		}
	}
	h.unlock()

	// bcrypt takes tens of milliseconds: never with the hub locked.
	var newHash string
	switch {
	case hash != "" && password == "":
		return fmt.Errorf("%s needs a password: /join %s PASSWORD", id, id)
	case hash != "":
		match, err := gate.compare(hash, password)
		if err != nil {
			return err
		}
		if !match {
			h.mu.Lock()
			h.wrongGuessLocked(s.u)
			h.watch.refused(RefusedWrongPassword)
			h.unlock()
			return fmt.Errorf("wrong password for %s", id)
		}
	case c == nil && password != "":
		if newHash, err = gate.hash(password); err != nil {
			return err
		}
	}

	h.mu.Lock()
	defer h.unlock()
	if err := h.servingLocked(s.u); err != nil {
		return err
	}
	cur := h.convs[id]
	switch {
	case cur == nil && c != nil:
		return fmt.Errorf("%s has just closed", id)
	case cur == nil:
		h.commitLocked(Entry{Kind: EntryJoin, User: s.u.id, Conv: id, Create: true, PassHash: newHash})
		return nil
	case cur != c || cur.passHash != hash:
		return fmt.Errorf("%s has just changed: try again", id)
	case !cur.hasRoom() && !cur.has(s.u):
		return fmt.Errorf("%s is full (%d/%d)", id, len(cur.members), cur.maxMembers)
	}
	h.commitLocked(Entry{Kind: EntryJoin, User: s.u.id, Conv: id})
	return nil
}

func (h *Hub) roomCountLocked() int {
	n := 0
	for _, c := range h.convs {
		if c.kind == Room {
			n++
		}
	}
	return n
}

// guessWaitLocked refuses another guess at a code or a room password
// once u, or u's address, made too many wrong ones in the last minute.
func (h *Hub) guessWaitLocked(u *user) error {
	now := h.now()
	limit := h.cfg.Limits.WrongCodes
	if full, wait := u.wrongCodes.full(now, limit); full {
		h.watch.refused(RefusedGuessRate)
		return fmt.Errorf("too many wrong codes or passwords: try again in %s", roundUp(wait))
	}
	if w := h.ipWindowLocked(u.ip); w != nil {
		if full, wait := w.full(now, limit); full {
			h.watch.refused(RefusedGuessRate)
			return fmt.Errorf("too many wrong codes or passwords from your address: try again in %s", roundUp(wait))
		}
	}
	// Server-wide, so that the code space cannot be swept from addresses
	// the per-address limit does not tell apart (behind a proxy).
	if full, wait := h.guesses.full(now, h.cfg.Limits.WrongCodesServer); full {
		h.watch.refused(RefusedGuessRate)
		return fmt.Errorf("too many wrong codes or passwords on this server: try again in %s", roundUp(wait))
	}
	return nil
}

func (h *Hub) wrongGuessLocked(u *user) {
	now := h.now()
	u.wrongCodes.add(now)
	h.guesses.add(now)
	if w := h.ipWindowLocked(u.ip); w != nil {
		w.add(now)
	}
}

// DM opens a private chat with someone who shares a room with the user.
func (s *Session) DM(args string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	t := h.byName[NameKey(strings.TrimPrefix(args, "@"))]
	if t == nil || t == s.u || !h.shareRoomLocked(s.u, t) || blocks(t, s.u) {
		if t == s.u {
			return errors.New("that is you")
		}
		return fmt.Errorf("no one called %s in your rooms", strings.ToValidUTF8(args, "?"))
	}
	if err := h.chargeLocked(s.u, actPrivate); err != nil {
		return err
	}
	h.openPrivateWithLocked(s.u, t)
	return nil
}

func (h *Hub) shareRoomLocked(a, b *user) bool {
	for _, c := range a.convs {
		if c.kind == Room && c.has(b) {
			return true
		}
	}
	return false
}

// Rename gives the user the name args, if it is valid and free.
func (s *Session) Rename(args string) error {
	h := s.h
	name, err := CleanName(args, h.limits().NameCells)
	if err != nil {
		return err
	}
	key := NameKey(name)
	h.mu.Lock()
	u := s.u
	err = h.renameAllowedLocked(u, name)
	if err == nil {
		err = h.chargeLocked(u, actRename)
	}
	dir, o, oldKey := h.dir, h.owner(u.id), u.nameKey
	h.unlock()
	if err != nil {
		return err
	}
	if key != oldKey {
		ctx, cancel := context.WithTimeout(context.Background(), directoryTimeout)
		defer cancel()
		switch err := dir.Claim(ctx, ClaimName, key, o); {
		case errors.Is(err, ErrTaken):
			return fmt.Errorf("the name %s is taken", name)
		case err != nil:
			return fmt.Errorf("the name could not be claimed: %w", err)
		}
	}
	h.mu.Lock()
	defer h.unlock()
	err = h.servingLocked(u)
	if err == nil {
		err = h.renameAllowedLocked(u, name)
	}
	if err != nil || u.nameKey != oldKey {
		if key != oldKey {
			h.releases = append(h.releases, release{ClaimName, key, o})
		}
		if err == nil {
			err = errors.New("your name changed meanwhile: try again")
		}
		return err
	}
	if key != oldKey {
		h.releases = append(h.releases, release{ClaimName, oldKey, o})
	}
	h.commitLocked(Entry{Kind: EntryRename, User: u.id, Text: name})
	return nil
}

// renameAllowedLocked refuses a name that is reserved, someone else's,
// or u's already.
func (h *Hub) renameAllowedLocked(u *user, name string) error {
	if err := h.reservedLocked(name, u.fingerprint); err != nil {
		return err
	}
	if other := h.byName[NameKey(name)]; other != nil && other != u {
		return fmt.Errorf("the name %s is taken", name)
	}
	if name == u.name {
		return fmt.Errorf("you are already called %s", name)
	}
	return nil
}

// renameLocked gives u a free, allowed name and tells everyone concerned.
func (h *Hub) renameLocked(u *user, name string) {
	old := u.name
	if h.byName[u.nameKey] == u {
		delete(h.byName, u.nameKey)
	}
	h.lookDropLocked(u)
	u.name, u.nameKey = name, NameKey(name)
	h.byName[u.nameKey] = u
	h.lookAddLocked(u)
	h.monitorLocked(MonitorEvent{Kind: MonitorRenamed, Name: name, OldName: old, Transport: u.transport})
	for _, c := range u.convs {
		notice := h.postLocked(c, System, Member{}, old+" is now "+name)
		h.deliverLocked(Event{Kind: EventRenamed, Conv: c.id, Member: u.member(), Text: old, Msg: notice})
	}
	h.pushLocked(u, Event{Kind: EventSelf, Member: u.member()})
}

// Members lists the members of one of the user's conversations.
func (s *Session) Members(id string) []Member {
	s.h.mu.Lock()
	defer s.h.unlock()
	c := s.h.convs[id]
	if c == nil || !c.has(s.u) {
		return nil
	}
	return c.memberList()
}

func (s *Session) cmdList(string) error {
	h := s.h
	h.mu.Lock()
	c := s.u.current
	if c == nil {
		h.unlock()
		return errors.New("you are not in a conversation: /listall shows everyone online")
	}
	title := c.title
	if c.kind == Private {
		title = "private chat"
	}
	members := c.memberList()
	h.unlock()
	lines := make([]string, 0, len(members))
	for _, m := range members {
		line := m.Name
		if m.ID == s.id {
			line += " (you)"
		}
		lines = append(lines, line+"  ["+string(m.Transport)+keyTagSuffix(m.KeyTag)+"]")
	}
	sort.Strings(lines)
	s.info(fmt.Sprintf("%d in %s", len(members), title), lines)
	return nil
}

// maxListAll bounds the output of /listall on a busy server.
const maxListAll = 500

func (s *Session) cmdListAll(string) error {
	h := s.h
	h.mu.Lock()
	users := make([]*user, 0, len(h.users))
	for _, u := range h.users {
		users = append(users, u)
	}
	sort.Slice(users, func(i, j int) bool { return users[i].nameKey < users[j].nameKey })
	var lines []string
	for i, u := range users {
		if i == maxListAll {
			lines = append(lines, fmt.Sprintf("… and %d more", len(users)-maxListAll))
			break
		}
		var where []string
		for _, c := range u.convs {
			if c.kind == Room && !c.hidden {
				where = append(where, c.id)
			}
		}
		line := u.name
		if tag := KeyTag(u.fingerprint); tag != "" {
			line += " [key " + tag + "]"
		}
		if u == s.u {
			line += " (you, code " + u.code + ")"
		}
		if len(where) > 0 {
			line += " — " + strings.Join(where, ", ")
		} else {
			line += " — reachable by code only"
		}
		lines = append(lines, line)
	}
	n := len(users)
	h.unlock()
	s.info(fmt.Sprintf("%d online", n), lines)
	return nil
}

// keyTagSuffix is how a key tag follows the transport in a member line.
func keyTagSuffix(tag string) string {
	if tag == "" {
		return ""
	}
	return ", key " + tag
}

func (s *Session) cmdWhois(args string) error {
	h := s.h
	h.mu.Lock()
	u := h.byName[NameKey(strings.TrimPrefix(args, "@"))]
	if u == nil {
		h.unlock()
		return fmt.Errorf("no one called %s is online", args)
	}
	lines := []string{"connected by " + string(u.transport)}
	switch r, reserved := h.reserved[u.nameKey]; {
	case u.fingerprint == "":
		lines = append(lines, "logged in without a key: anyone could use this name")
	case reserved && r.keys[u.fingerprint]:
		lines = append(lines, "key "+u.fingerprint+" (tag "+KeyTag(u.fingerprint)+"), the key the name "+r.name+" is reserved for")
	default:
		lines = append(lines, "key "+u.fingerprint+" (tag "+KeyTag(u.fingerprint)+")")
	}
	name := u.name
	h.unlock()
	s.info(name, lines)
	return nil
}

func (s *Session) cmdRooms(string) error {
	rooms := s.Rooms()
	lines := make([]string, 0, len(rooms))
	for _, r := range rooms {
		count := fmt.Sprint(r.Members)
		if r.MaxMembers > 0 {
			count += fmt.Sprintf("/%d", r.MaxMembers)
		}
		line := fmt.Sprintf("%-20s %6s", r.Name, count)
		if r.Locked {
			line += "  [password]"
		}
		if r.Description != "" {
			line += "  " + r.Description
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		lines = append(lines, "no listed rooms: /join #name creates one")
	}
	s.info("Rooms", lines)
	return nil
}

// cmdLeave leaves the current conversation.
func (s *Session) cmdLeave(string) error {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.leaveLocked(s.u.current)
}

// Leave leaves conversation id; the others are told.
func (s *Session) Leave(id string) error {
	s.h.mu.Lock()
	defer s.h.unlock()
	return s.leaveLocked(s.h.convs[id])
}

func (s *Session) leaveLocked(c *conv) error {
	h, u := s.h, s.u
	if c == nil || !c.has(u) {
		return errors.New("you are not in a conversation")
	}
	if err := h.chargeLocked(u, actLeave); err != nil {
		return err
	}
	why := u.name + " left"
	if c.kind == Private {
		why = u.name + " left the private chat"
	}
	h.commitLocked(Entry{Kind: EntryLeave, User: u.id, Conv: c.id, Text: why, Note: "you left"})
	return nil
}

func (s *Session) cmdSwitch(args string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	for _, c := range s.u.convs {
		if c.kind == Room && (strings.EqualFold(c.id, args) || strings.EqualFold(c.id, "#"+args)) {
			h.setCurrentLocked(s.u, c)
			return nil
		}
	}
	key := NameKey(strings.TrimPrefix(args, "@"))
	for _, c := range s.u.convs {
		if p := c.partner(s.u); c.kind == Private && p != nil && p.nameKey == key {
			h.setCurrentLocked(s.u, c)
			return nil
		}
	}
	return fmt.Errorf("you have no conversation called %s", strings.ToValidUTF8(args, "?"))
}

func (s *Session) cmdBlock(args string) error {
	if args != "" {
		return s.Block(args)
	}
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	u := s.u
	{
		names := make([]string, 0, len(u.blocked))
		for _, n := range u.blocked {
			names = append(names, n)
		}
		sort.Strings(names)
		if len(names) == 0 {
			names = append(names, "nobody")
		}
		h.pushLocked(u, Event{Kind: EventInfo, Text: "Blocked", Lines: names})
		return nil
	}
}

// Block hides the messages and chat requests of the user called args,
// and ends a private chat with them.
func (s *Session) Block(args string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	u := s.u
	t := h.byName[NameKey(strings.TrimPrefix(args, "@"))]
	if t == nil {
		return fmt.Errorf("no one called %s is online", strings.ToValidUTF8(args, "?"))
	}
	if t == u {
		return errors.New("you cannot block yourself")
	}
	h.commitLocked(Entry{Kind: EntryBlock, User: u.id, Peer: t.id, Text: t.name, Note: "you blocked " + t.name})
	h.pushLocked(u, Event{Kind: EventNotice, Text: "blocked " + t.name + ": their messages and chat requests are hidden from you (/unblock " + t.name + " to undo)"})
	return nil
}

// Unblock undoes Block.
func (s *Session) Unblock(args string) error {
	h := s.h
	h.mu.Lock()
	defer h.unlock()
	key := NameKey(strings.TrimPrefix(args, "@"))
	for id, name := range s.u.blocked {
		if NameKey(name) == key || (h.users[id] != nil && h.users[id].nameKey == key) {
			h.commitLocked(Entry{Kind: EntryUnblock, User: s.u.id, Peer: id})
			h.pushLocked(s.u, Event{Kind: EventNotice, Text: "unblocked " + name})
			return nil
		}
	}
	return fmt.Errorf("you have not blocked %s", strings.ToValidUTF8(args, "?"))
}
