package core

// Reload installs a new config without dropping anyone: rooms are added
// or updated, rooms no longer in the config are closed and their members
// told, new limits apply from the next message on, and whoever holds a
// name newly reserved to other keys gets another name.
func (h *Hub) Reload(cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	h.mu.Lock()
	keep := map[string]bool{}
	for _, rc := range cfg.Rooms {
		name, _ := CleanRoomName(rc.Name)
		keep["#"+name] = true
	}
	for id, c := range h.convs {
		if c.kind != Room || !c.permanent || keep[id] {
			continue
		}
		for len(c.order) > 0 {
			h.dropConvLocked(c.order[0], c, id+" was removed by the operator", false)
		}
		delete(h.convs, id)
	}
	h.applyConfigLocked(cfg)
	for _, u := range h.users {
		if h.isLocal(u) {
			u.out.setLimit(cfg.Limits.OutboxSize)
		}
	}
	h.unlock()
	h.renameReserved()
	return nil
}
