'use strict';

// The page: conversations, chat, members, rooms and the call panel.
// Every piece of text from the server goes in with textContent.

const $ = (id) => document.getElementById(id);

function el(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

// A name in its own isolated bidi run, so it cannot reorder what follows.
function nameEl(name, className) {
  const b = el('bdi', className, name);
  b.dir = 'auto';
  return b;
}

// authorEl is a message's author; while someone online has a look-alike
// name, the key each logged in with is shown beside it.
function authorEl(from) {
  const b = nameEl(from.name, 'from');
  if (from.lookAlike) b.append(el('span', 'keytag', from.keyTag ? ' [key ' + from.keyTag + ']' : ' [no key]'));
  return b;
}

const conn = new ParleyConnection(wsURL());

const state = {
  self: null,
  code: '',
  commands: [],
  convs: new Map(), // id -> { view, log: [entries], seen: last seq in log, unread, members: Map|null }
  order: [],
  current: '',
  rooms: [],
  membersOpen: false,
};

// ---- status line ----

let statusTimer = 0;
function status(text, isError) {
  const s = $('status');
  s.textContent = text;
  s.classList.toggle('error', !!isError);
  clearTimeout(statusTimer);
  if (text) statusTimer = setTimeout(() => { s.textContent = ''; }, isError ? 10000 : 6000);
}

// ---- conversations ----

// addConv adds or refreshes a conversation. Catching up (after a
// reconnection or a reload), messages the page has not shown yet count as
// unread; a conversation it never saw counts all of its messages.
function addConv(view, catchingUp) {
  const existing = state.convs.get(view.id);
  const c = existing || { unread: 0, seen: 0, members: null };
  const known = existing || rememberedConv(view.id) || (catchingUp ? { seen: 0, unread: 0 } : null);
  c.view = view;
  c.log = view.history.map((m) => ({ msg: m }));
  if (known) {
    const fresh = view.history.filter((m) => m.seq > known.seen && m.kind !== 'system' && !(state.self && m.from.id === state.self.id));
    c.unread = known.unread + fresh.length;
  }
  if (view.history.length > 0) c.seen = view.history[view.history.length - 1].seq;
  if (!existing) {
    state.convs.set(view.id, c);
    state.order.push(view.id);
  }
  return c;
}

function clearConvs() {
  state.convs.clear();
  state.order = [];
}

// The title counts unread messages, for a tab in the background.
function renderTitle() {
  let n = 0;
  for (const c of state.convs.values()) n += c.unread;
  const title = (n > 0 ? '(' + n + ') ' : '') + 'Parley';
  if (ringer.timer) ringer.title = title; // the ringer flashes the title, and puts this back
  else document.title = title;
}

function removeConv(id) {
  state.convs.delete(id);
  state.order = state.order.filter((x) => x !== id);
}

// itemEl is an entry of a side list: a button, so it is reached with Tab
// and pressed with Enter or Space; its click bubbles to the li, which acts.
function itemEl(li) {
  const b = el('button', 'item');
  b.type = 'button';
  li.append(b);
  return b;
}

// hiddenText is read by screen readers only: what the eye gets from layout.
function hiddenText(text) {
  return el('span', 'visually-hidden', text);
}

function renderConvs() {
  const ul = $('convs');
  ul.replaceChildren();
  for (const id of state.order) {
    const c = state.convs.get(id);
    const li = el('li');
    li.dataset.conv = id;
    const b = itemEl(li);
    if (id === state.current) {
      li.classList.add('current');
      b.setAttribute('aria-current', 'true');
    }
    if (c.view.kind === 'private') {
      const at = el('span', 'muted', '@');
      at.setAttribute('aria-hidden', 'true');
      b.append(at, hiddenText('private chat with '));
    }
    b.append(nameEl(c.view.title));
    if (c.unread > 0) b.append(el('span', 'count', String(c.unread)), hiddenText(' unread'));
    li.addEventListener('click', () => { closeDrawers(); conn.switchTo(id).then((err) => err && status(err, true)); });
    ul.append(li);
  }
  $('no-convs').hidden = state.order.length > 0;
  renderTitle();
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  for (const r of state.rooms) {
    const li = el('li');
    li.title = r.description || '';
    let count = String(r.members);
    if (r.maxMembers) count += '/' + r.maxMembers;
    const b = itemEl(li);
    b.append(nameEl(r.name));
    b.append(el('span', 'tag', (r.locked ? '🔒 ' : '') + count), hiddenText(' here' + (r.locked ? ', password needed' : '')));
    li.addEventListener('click', () => {
      closeDrawers();
      if (r.locked) {
        const input = $('input');
        input.value = '/join ' + r.name + ' ';
        input.focus();
        return;
      }
      shown(conn.join(r.name, ''));
    });
    ul.append(li);
  }
  if (state.rooms.length === 0) ul.append(el('li', 'muted', 'no listed rooms'));
}

function timeText(ms) {
  const d = new Date(ms);
  return String(d.getHours()).padStart(2, '0') + ':' + String(d.getMinutes()).padStart(2, '0');
}

function entryEl(entry) {
  if (entry.info) {
    const li = el('li', 'info');
    li.append(el('strong', '', entry.info.title));
    for (const line of entry.info.lines) li.append('\n' + line);
    return li;
  }
  const m = entry.msg;
  const li = el('li', m.kind);
  li.append(el('span', 'time', timeText(m.time)));
  if (m.kind === 'system') {
    li.append(el('span', 'text', m.text));
  } else if (m.kind === 'action') {
    li.append('* ', authorEl(m.from), textWithLinks(m.text));
  } else {
    li.append(authorEl(m.from), textWithLinks(m.text));
  }
  if (state.self && m.from.id !== state.self.id && m.kind !== 'system' && mentions(m.text)) li.classList.add('mention');
  return li;
}

function mentions(text) {
  const name = state.self.name.toLowerCase();
  return name.length > 0 && text.toLowerCase().includes(name);
}

function renderLog() {
  const log = $('log');
  const c = state.convs.get(state.current);
  log.replaceChildren();
  if (c) for (const entry of c.log) placeEntry(log, c, entry);
  log.scrollTop = log.scrollHeight;
}

function appendEntry(convID, entry) {
  const c = state.convs.get(convID);
  if (!c) return;
  if (entry.msg) {
    if (entry.msg.seq <= c.seen) return; // shown already, by a resync that crossed it
    c.seen = entry.msg.seq;
  }
  c.log.push(entry);
  if (c.log.length > 1000) c.log.splice(0, c.log.length - 1000);
  noticeInBackground(c, entry.msg);
  if (convID !== state.current) {
    if (entry.msg && entry.msg.kind !== 'system' && c.view.kind === 'private') announce('private message from ' + entry.msg.from.name + ': ' + entry.msg.text, true);
    if (entry.msg && entry.msg.kind !== 'system') {
      c.unread++;
      renderConvs();
    }
    return;
  }
  announceEntry(entry);
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  placeEntry(log, c, entry);
  if (atBottom || (entry.msg && state.self && entry.msg.from.id === state.self.id)) log.scrollTop = log.scrollHeight;
}

// announceEntry reads out, through the polite live region, what others
// write in the conversation on screen.
function announceEntry(entry) {
  const m = entry.msg;
  if (!m || m.kind === 'system' || !state.self || m.from.id === state.self.id) return;
  announce((m.kind === 'action' ? '* ' : '') + m.from.name + ': ' + m.text, true);
}

function renderHeader() {
  const c = state.convs.get(state.current);
  const home = !c;
  $('home').hidden = !home;
  $('log').hidden = home;
  $('conv-title').textContent = home ? 'Home' : c.view.title;
  let desc = '';
  if (c) desc = c.view.kind === 'private' ? 'private chat' : (c.view.description || '') + ' · ' + c.view.memberCount + ' here';
  $('conv-desc').textContent = desc;
  $('call-button').hidden = !c || c.view.kind !== 'private' || call.id !== '';
  $('members-toggle').hidden = home;
}

function renderMembers() {
  const ul = $('member-list');
  ul.replaceChildren();
  const c = state.convs.get(state.current);
  if (!c || !c.members) return;
  const list = [...c.members.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const m of list) {
    const li = el('li');
    if (m.id === state.self.id) {
      li.append(nameEl(m.name), el('span', 'tag', 'you'));
    } else {
      const b = itemEl(li);
      b.append(nameEl(m.name), el('span', 'tag', m.transport));
      if (m.keyTag) b.append(el('span', 'tag', 'key ' + m.keyTag));
      li.title = 'Private chat with ' + m.name;
      li.addEventListener('click', () => { closeDrawers(); shown(conn.dm(m.name)); });
    }
    ul.append(li);
  }
}

// invited takes the user into a private chat someone opened with them,
// ready to answer, unless a draft is being typed: then it only says so.
function invited(view, by) {
  if ($('input').value.trim() !== '') {
    status(by.name + ' opened a private chat with you: choose @' + view.title + ' in your conversations to answer');
    return;
  }
  conn.switchTo(view.id).then((err) => err && status(err, true));
  status(by.name + ' opened a private chat with you');
}

function setCurrent(id) {
  state.current = id;
  const c = state.convs.get(id);
  if (c) {
    c.unread = 0;
    if (!c.members) conn.members(id);
  }
  renderConvs();
  renderHeader();
  renderLog();
  renderMembers();
}

// ---- input ----

let inputHistory = [];
let historyPos = 0;

function runInput(text) {
  noteQuit(text);
  return shown(conn.input(text));
}

// shown shows the error a request was answered with, if any.
function shown(answer) {
  return answer.then((err) => {
    if (err) status(err, true);
    return err;
  });
}

function showHints() {
  const v = $('input').value;
  const hints = $('hints');
  if (!v.startsWith('/') || v.includes(' ')) {
    hints.hidden = true;
    return;
  }
  const word = v.slice(1).toLowerCase();
  const found = state.commands.filter((c) => c.name.startsWith(word)).slice(0, 6);
  hints.hidden = found.length === 0;
  hints.textContent = found.map((c) => '/' + c.name + (c.args ? ' ' + c.args : '') + ' — ' + c.help).join('\n');
}

function setupInput() {
  const input = $('input');
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    askNotifications(); // for mentions and private messages, once the person is here to answer
    const text = input.value;
    if (text.trim() === '') return;
    runInput(text).then((err) => {
      if (err) return; // keep the typed line so nothing is lost
      if (input.value === text) input.value = '';
      inputHistory.push(text);
      if (inputHistory.length > 100) inputHistory.shift();
      historyPos = inputHistory.length;
      showHints();
    });
  });
  input.addEventListener('input', showHints);
  input.addEventListener('keydown', (e) => {
    if (e.key === 'Tab' && input.value.startsWith('/') && !input.value.includes(' ')) {
      const word = input.value.slice(1).toLowerCase();
      const found = state.commands.filter((c) => c.name.startsWith(word));
      if (found.length === 1) {
        e.preventDefault();
        input.value = '/' + found[0].name + ' ';
        showHints();
      }
    } else if (e.key === 'ArrowUp' && historyPos > 0) {
      e.preventDefault();
      input.value = inputHistory[--historyPos];
    } else if (e.key === 'ArrowDown' && historyPos < inputHistory.length) {
      e.preventDefault();
      historyPos++;
      input.value = historyPos < inputHistory.length ? inputHistory[historyPos] : '';
    }
  });
  $('code-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const code = $('code-input').value.trim();
    if (!code) return;
    conn.openCode(code).then((err) => {
      $('code-error').textContent = err;
      $('code-input').setAttribute('aria-invalid', String(err !== ''));
      if (!err) {
        $('code-input').value = '';
        closeDrawers();
      }
    });
  });
  document.addEventListener('keydown', onEscape);
  $('code-input').addEventListener('input', () => {
    $('code-error').textContent = '';
    $('code-input').removeAttribute('aria-invalid');
  });
  $('copy-code').addEventListener('click', () => {
    const done = () => status('code copied');
    if (navigator.clipboard) {
      navigator.clipboard.writeText(state.code).then(done, () => status('copy failed: your code is ' + state.code, true));
    } else {
      status('your code is ' + state.code);
    }
  });
  $('refresh-rooms').addEventListener('click', () => conn.rooms());
  $('members-toggle').addEventListener('click', () => {
    const open = !$('members').classList.contains('open');
    $('members').classList.toggle('open', open);
    $('members-toggle').setAttribute('aria-expanded', String(open));
  });
  $('menu-toggle').addEventListener('click', () => {
    const open = !$('sidebar').classList.contains('open');
    $('sidebar').classList.toggle('open', open);
    $('menu-toggle').setAttribute('aria-expanded', String(open));
  });
  $('call-button').addEventListener('click', () => {
    askNotifications();
    conn.invite(state.current).then((err) => err && status(err, true));
  });
}

// closeDrawers closes the phone's menus, and says whether one was open.
function closeDrawers() {
  if (!window.matchMedia('(max-width: 720px)').matches) return false;
  const open = $('sidebar').classList.contains('open') || $('members').classList.contains('open');
  $('sidebar').classList.remove('open');
  $('members').classList.remove('open');
  return open;
}

// Esc goes home, as /help says; an open menu closes first, and the call
// view keeps Esc for itself.
function onEscape(e) {
  if (e.key !== 'Escape' || e.defaultPrevented || $('call').contains(e.target)) return;
  if (closeDrawers()) return;
  e.preventDefault();
  $('hints').hidden = true;
  conn.switchTo('').then((err) => err && status(err, true));
}

// ---- chat events ----

// The room list's member counts follow joins and leaves, a moment later.
let roomsTimer = 0;
function refreshRoomsSoon() {
  clearTimeout(roomsTimer);
  roomsTimer = setTimeout(() => conn.rooms(), 1000);
}

// A big room sends its member count instead of each join and leave: the
// list shown is fetched again once the room has been quiet for a moment,
// the others when they are next shown.
let membersTimer = 0;
function refreshMembersSoon(id) {
  clearTimeout(membersTimer);
  membersTimer = setTimeout(() => { if (state.current === id) conn.members(id); }, 2000);
}

function memberCount(d) {
  const c = state.convs.get(d.conv);
  if (!c) return;
  c.view.memberCount = d.count;
  refreshRoomsSoon();
  if (d.conv !== state.current) {
    c.members = null;
    return;
  }
  if (c.members) refreshMembersSoon(d.conv);
  renderHeader();
}

function memberUpdate(d, apply) {
  const c = state.convs.get(d.conv);
  if (!c) return;
  if (c.view.kind === 'room') refreshRoomsSoon();
  if (c.members) apply(c.members);
  c.view.memberCount = c.members ? c.members.size : c.view.memberCount;
  if (d.msg) appendEntry(d.conv, { msg: d.msg });
  if (d.conv === state.current) {
    renderMembers();
    renderHeader();
  }
}

function setupChat() {
  conn.addEventListener('welcome', (e) => {
    const d = e.detail;
    state.self = d.self;
    state.code = d.code;
    state.commands = d.commands;
    state.rooms = d.rooms;
    if (!d.resumed) { // a new user: whatever the page showed belonged to the old one
      clearConvs();
      setCurrent('');
    }
    $('me').hidden = false;
    $('me-name').textContent = d.self.name;
    $('me-code').textContent = d.code;
    $('home-code').textContent = d.code;
    $('welcome').textContent = d.welcome;
    $('conn-state').textContent = '';
    renderRooms();
    renderHeader();
  });
  conn.addEventListener('message', (e) => appendEntry(e.detail.msg.conv, { msg: e.detail.msg }));
  conn.addEventListener('conv-opened', (e) => {
    addConv(e.detail.view);
    renderConvs();
    if (e.detail.view.id === state.current) setCurrent(state.current);
    conn.rooms();
    const by = e.detail.by;
    if (by && state.self && by.id !== state.self.id) invited(e.detail.view, by);
  });
  conn.addEventListener('conv-closed', (e) => {
    const c = state.convs.get(e.detail.conv);
    removeConv(e.detail.conv);
    if (e.detail.text && c) status(c.view.title + ': ' + e.detail.text);
    renderConvs();
    if (e.detail.conv === state.current) setCurrent('');
    conn.rooms();
  });
  conn.addEventListener('current', (e) => setCurrent(e.detail.conv));
  conn.addEventListener('member-joined', (e) => memberUpdate(e.detail, (ms) => ms.set(e.detail.member.id, e.detail.member)));
  conn.addEventListener('member-left', (e) => memberUpdate(e.detail, (ms) => ms.delete(e.detail.member.id)));
  conn.addEventListener('member-count', (e) => memberCount(e.detail));
  conn.addEventListener('renamed', (e) => {
    const d = e.detail;
    const c = state.convs.get(d.conv);
    if (c && c.view.kind === 'private' && c.view.partner && c.view.partner.id === d.member.id) {
      c.view.partner = d.member;
      c.view.title = d.member.name;
      renderConvs();
    }
    memberUpdate(d, (ms) => ms.set(d.member.id, d.member));
  });
  conn.addEventListener('self', (e) => {
    state.self = e.detail.self;
    $('me-name').textContent = state.self.name;
  });
  conn.addEventListener('members', (e) => {
    const c = state.convs.get(e.detail.conv);
    if (!c) return;
    c.members = new Map(e.detail.members.map((m) => [m.id, m]));
    if (e.detail.conv === state.current) renderMembers();
  });
  conn.addEventListener('rooms', (e) => {
    state.rooms = e.detail.rooms;
    renderRooms();
  });
  conn.addEventListener('info', (e) => {
    const entry = { info: { title: e.detail.title, lines: e.detail.lines } };
    if (state.convs.has(state.current)) {
      appendEntry(state.current, entry);
    } else {
      const home = $('home');
      const box = el('ol', 'info-box');
      box.append(entryEl(entry));
      home.append(box);
    }
  });
  conn.addEventListener('notice', (e) => status(e.detail.text));
  conn.addEventListener('error', (e) => status(e.detail.text, true));
  conn.addEventListener('closing', (e) => status(e.detail.text, true));
  conn.addEventListener('resync', (e) => {
    const d = e.detail;
    const before = new Map(state.convs);
    clearConvs();
    for (const v of d.convs) {
      const old = before.get(v.id);
      if (old) { // keeps its unread count; its members are asked again
        old.members = null;
        state.convs.set(v.id, old);
        state.order.push(v.id);
      }
      addConv(v, true);
    }
    if (d.missed > 0) status('you missed ' + d.missed + ' updates: the page has been refreshed');
    setCurrent(d.current);
  });
  conn.addEventListener('disconnected', () => endCall('the connection to the server was lost'));
}

// ---- calls ----

const call = {
  id: '',
  state: 'idle', // idle, ringing-out, ringing-in, connecting, active, ended
  role: '',
  peer: null,
  peerOnLink: false, // the peer is on a terminal and joins through a call link
  pc: null,
  local: null,
  media: null,
  chain: Promise.resolve(),
  startedAt: 0,
  timer: 0,
  endedText: '',
  connectTimeout: 20000,
  connectTimer: 0,
  retried: false, // an ICE restart was tried since the last connection
  offers: 0,
};

// showCall draws the call panel for the current state. Ringing is a modal
// dialog; once accepted the panel sits above the conversation, which stays
// usable.
function showCall(text) {
  const panel = $('call');
  const incoming = call.state === 'ringing-in';
  panel.hidden = false;
  panel.classList.toggle('ringing', call.state.startsWith('ringing'));
  panel.classList.toggle('incoming', incoming);
  panel.classList.toggle('modal', incoming && !linkMode);
  panel.setAttribute('role', incoming ? 'alertdialog' : 'region');
  if (incoming && !linkMode) panel.setAttribute('aria-modal', 'true');
  else panel.removeAttribute('aria-modal');
  $('call-text').textContent = text;
  $('call-ring').hidden = !incoming;
  $('call-hangup').textContent = call.state === 'ringing-out' ? 'Cancel' : 'Hang up';
  $('call-hangup').hidden = incoming;
  if (incoming) {
    $('call-accept').focus();
  } else if (!panel.contains(document.activeElement) && document.activeElement !== $('input')) {
    panel.focus();
  }
  if (!linkMode) renderHeader();
}

// trapFocus keeps Tab inside the ringing dialog.
function trapFocus(e) {
  if (e.key !== 'Tab' || !$('call').classList.contains('modal')) return;
  const items = [...$('call').querySelectorAll('button, [href]')].filter((b) => b.getClientRects().length > 0);
  if (items.length === 0) return;
  const first = items[0];
  const last = items[items.length - 1];
  if (e.shiftKey && (document.activeElement === first || !$('call').contains(document.activeElement))) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && (document.activeElement === last || !$('call').contains(document.activeElement))) {
    e.preventDefault();
    first.focus();
  }
}

// announce reads text out through one of the page's live regions: the
// polite one for messages, the assertive one for calls.
function announce(text, polite) {
  const a = $(polite ? 'announce-polite' : 'announce');
  a.textContent = '';
  setTimeout(() => { a.textContent = text; }, 50);
}

// askNotifications asks once, when the person sends something or clicks
// about a call, whether the page may show system notifications.
function askNotifications() {
  if ('Notification' in window && Notification.permission === 'default') Notification.requestPermission().catch(() => {});
}

// The ringer: a two-tone chime made in the page, a flashing tab title and,
// when the tab is hidden, a system notification.
const ringer = { ctx: null, timer: 0, flash: 0, title: '', note: null, chimes: 0 };

function chime() {
  try {
    if (!ringer.ctx) ringer.ctx = new AudioContext();
    const ctx = ringer.ctx;
    ctx.resume().catch(() => {}); // stays silent until the page is clicked, in some browsers
    const t = ctx.currentTime;
    for (const [at, freq] of [[0, 660], [0.3, 880]]) {
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, t + at);
      gain.gain.exponentialRampToValueAtTime(0.2, t + at + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.25);
      osc.connect(gain).connect(ctx.destination);
      osc.start(t + at);
      osc.stop(t + at + 0.26);
    }
    ringer.chimes++;
  } catch {
    // no audio output: the title and the dialog still ring
  }
}

function startRinging(text) {
  stopRinging();
  ringer.title = document.title;
  let lit = true;
  document.title = '📞 ' + text;
  ringer.flash = setInterval(() => {
    lit = !lit;
    document.title = lit ? '📞 ' + text : ringer.title;
  }, 1000);
  chime();
  ringer.timer = setInterval(chime, 2500);
  if (document.hidden && 'Notification' in window && Notification.permission === 'granted') {
    try {
      const n = new Notification('Incoming video call', { body: text, tag: 'parley-call' });
      n.onclick = () => { window.focus(); n.close(); };
      ringer.note = n;
    } catch {
      // some browsers only notify from a service worker
    }
  }
  announce(text);
}

function stopRinging() {
  if (!ringer.timer) return;
  clearInterval(ringer.timer);
  clearInterval(ringer.flash);
  ringer.timer = 0;
  document.title = ringer.title;
  if (ringer.note) ringer.note.close();
  ringer.note = null;
}

// getMedia asks for the camera and microphone once per call.
function getMedia() {
  if (!call.media) {
    const ask = navigator.mediaDevices
      ? navigator.mediaDevices.getUserMedia({ video: true, audio: true })
      : Promise.reject(new Error('this page needs HTTPS for the camera'));
    const media = ask.catch((err) => {
      status('camera or microphone unavailable: ' + err.message + ' (the call continues without them)', true);
      return new MediaStream();
    }).then((stream) => {
      if (call.media !== media) { // the call ended meanwhile
        for (const t of stream.getTracks()) t.stop();
        return stream;
      }
      call.local = stream;
      $('local-video').srcObject = stream;
      return stream;
    });
    call.media = media;
  }
  return call.media;
}

function startCallUI(d, stateName, text) {
  if (call.id && call.id !== d.call) return false;
  call.id = d.call;
  call.peer = d.peer;
  call.peerOnLink = !!d.peerOnLink;
  call.state = stateName;
  call.endedText = '';
  showCall(text);
  return true;
}

function setupCalls() {
  $('call').addEventListener('keydown', trapFocus);
  conn.addEventListener('call-ringing', (e) => {
    const name = e.detail.peer.name;
    const text = e.detail.peerOnLink
      ? 'Calling ' + name + '… ' + name + ' is on a terminal and joins by opening the link they were sent.'
      : 'Calling ' + name + '…';
    if (startCallUI(e.detail, 'ringing-out', text)) getMedia();
  });
  conn.addEventListener('call-incoming', (e) => {
    const name = e.detail.peer.name;
    const text = e.detail.peerOnLink
      ? name + ' is calling you from a terminal: once you accept, the call starts when they open their call link'
      : name + ' is calling you';
    if (startCallUI(e.detail, 'ringing-in', text)) startRinging(name + ' is calling you');
  });
  conn.addEventListener('call-start', (e) => {
    if (e.detail.call !== call.id && call.id !== '') return;
    stopRinging();
    call.id = e.detail.call;
    call.peer = e.detail.peer;
    call.role = e.detail.role;
    call.state = 'connecting';
    call.connectTimeout = e.detail.connectTimeout || call.connectTimeout;
    showCall('Connecting to ' + e.detail.peer.name + '…');
    startPeer(e.detail.iceServers);
  });
  conn.addEventListener('call-offer', (e) => onSignal(e.detail, async (pc) => {
    await pc.setRemoteDescription({ type: 'offer', sdp: e.detail.sdp });
    await pc.setLocalDescription();
    conn.answer(call.id, pc.localDescription.sdp);
  }));
  conn.addEventListener('call-answer', (e) => onSignal(e.detail, (pc) => pc.setRemoteDescription({ type: 'answer', sdp: e.detail.sdp })));
  conn.addEventListener('call-ice', (e) => onSignal(e.detail, (pc) => pc.addIceCandidate(e.detail.candidate)));
  conn.addEventListener('call-restart', (e) => onSignal(e.detail, (pc) => { if (call.role === 'offerer') pc.restartIce(); }));
  conn.addEventListener('call-media', (e) => {
    if (e.detail.call !== call.id) return;
    $('remote-muted').hidden = e.detail.audio;
    $('remote-camera-off').hidden = e.detail.video;
    $('remote-state').hidden = e.detail.audio && e.detail.video;
    $('remote-muted').textContent = call.peer.name + ' is muted';
    $('remote-camera-off').textContent = call.peer.name + "'s camera is off";
  });
  conn.addEventListener('call-ended', (e) => {
    if (e.detail.call === call.id) endCall(e.detail.text);
  });

  $('call-accept').addEventListener('click', () => {
    askNotifications();
    stopRinging();
    getMedia();
    conn.accept(call.id);
    call.state = 'connecting';
    showCall(call.peerOnLink ? 'Waiting for ' + call.peer.name + ' to open their call link in a browser…' : 'Connecting…');
  });
  $('call-decline').addEventListener('click', () => {
    stopRinging();
    conn.decline(call.id);
  });
  $('call-hangup').addEventListener('click', () => conn.hangUp(call.id));
  $('call-mute').addEventListener('click', () => toggleTrack('audio', $('call-mute')));
  $('call-camera').addEventListener('click', () => toggleTrack('video', $('call-camera')));
  $('call-unmute-remote').addEventListener('click', () => {
    const v = $('remote-video');
    v.muted = false;
    v.play();
    $('call-unmute-remote').hidden = true;
  });
}

// onSignal runs signaling steps strictly in order, so a candidate is never
// added before the description it belongs to.
function onSignal(d, step) {
  if (d.call !== call.id || !call.pc) return;
  const pc = call.pc;
  call.chain = call.chain.then(() => step(pc)).catch((err) => status('call: ' + err.message, true));
}

// A call that does not connect within the server's connect timeout gets
// one ICE restart and as long again; then it ends with a reason rather
// than showing "Connecting…" for ever.
function armConnectTimer() {
  clearTimeout(call.connectTimer);
  call.connectTimer = setTimeout(notConnected, call.connectTimeout);
}

function notConnected() {
  if (call.state !== 'connecting' || !call.pc) return;
  if (call.retried) {
    clearTimeout(call.connectTimer);
    conn.giveUp(call.id);
    return;
  }
  call.retried = true;
  showCall('Still connecting to ' + call.peer.name + ': trying once more…');
  if (call.role === 'offerer') call.pc.restartIce();
  else conn.askRestart(call.id);
  armConnectTimer();
}

function startPeer(iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  call.pc = pc;
  armConnectTimer();
  pc.addEventListener('icecandidate', (e) => { if (e.candidate) conn.ice(call.id, e.candidate); });
  pc.addEventListener('track', (e) => {
    const v = $('remote-video');
    if (v.srcObject !== e.streams[0]) {
      v.srcObject = e.streams[0];
      v.play().catch(() => {
        v.muted = true; // autoplay with sound needs a click first
        v.play().catch(() => {});
        $('call-unmute-remote').hidden = false;
      });
    }
  });
  pc.addEventListener('connectionstatechange', () => {
    if (pc.connectionState === 'connected' && call.state !== 'active') {
      call.state = 'active';
      call.retried = false;
      clearTimeout(call.connectTimer);
      if (!call.startedAt) {
        call.startedAt = Date.now();
        call.timer = setInterval(tickDuration, 1000);
      }
      showCall('In a call with ' + call.peer.name);
    }
  });
  // A call that loses its path reconnects the same way a new one connects.
  pc.addEventListener('iceconnectionstatechange', () => {
    if (pc.iceConnectionState !== 'failed' || call.pc !== pc) return;
    if (call.state === 'active') {
      call.state = 'connecting';
      status('the connection was lost: reconnecting the call…');
    }
    notConnected();
  });
  if (call.role === 'offerer') {
    pc.addEventListener('negotiationneeded', () => {
      call.chain = call.chain.then(async () => {
        await pc.setLocalDescription();
        call.offers++;
        conn.offer(call.id, pc.localDescription.sdp);
      }).catch((err) => status('call: ' + err.message, true));
    });
  }
  // Tracks go in before any offer is made or answered.
  call.chain = call.chain.then(async () => {
    const stream = await getMedia();
    if (call.pc !== pc) return;
    const tracks = stream.getTracks();
    for (const t of tracks) pc.addTrack(t, stream);
    if (tracks.length === 0 && call.role === 'offerer') { // still receive
      pc.addTransceiver('audio', { direction: 'recvonly' });
      pc.addTransceiver('video', { direction: 'recvonly' });
    }
    sendMediaState();
  });
}

// sendMediaState tells the other side which of our microphone and camera
// are on, so it shows it rather than silence and black video.
function sendMediaState() {
  const on = (kind) => !!call.local && call.local.getTracks().some((t) => t.kind === kind && t.enabled);
  if (call.pc) conn.media(call.id, on('audio'), on('video'));
}

function tickDuration() {
  const s = Math.floor((Date.now() - call.startedAt) / 1000);
  $('call-duration').textContent = Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
}

function toggleTrack(kind, button) {
  if (!call.local) return;
  const tracks = call.local.getTracks().filter((t) => t.kind === kind);
  if (tracks.length === 0) return;
  const off = tracks[0].enabled;
  for (const t of tracks) t.enabled = !off;
  button.setAttribute('aria-pressed', String(off));
  if (kind === 'audio') button.textContent = off ? 'Unmute' : 'Mute';
  else button.textContent = off ? 'Camera on' : 'Camera off';
  sendMediaState();
}

function endCall(text) {
  if (call.state === 'idle') return;
  stopRinging();
  if (call.pc) call.pc.close();
  if (call.local) for (const t of call.local.getTracks()) t.stop();
  clearInterval(call.timer);
  clearTimeout(call.connectTimer);
  $('remote-video').srcObject = null;
  $('local-video').srcObject = null;
  Object.assign(call, { id: '', state: 'ended', role: '', peer: null, peerOnLink: false, pc: null, local: null, media: null, chain: Promise.resolve(), startedAt: 0, timer: 0, endedText: text, connectTimer: 0, retried: false });
  $('call-duration').textContent = '0:00';
  $('call-mute').textContent = 'Mute';
  $('call-camera').textContent = 'Camera off';
  $('call-mute').setAttribute('aria-pressed', 'false');
  $('call-camera').setAttribute('aria-pressed', 'false');
  $('call-unmute-remote').hidden = true;
  $('remote-state').hidden = true;
  status(text);
  announce(text);
  if (linkMode) {
    showLinkOver(text + '. You can close this page.');
    return;
  }
  const hadFocus = $('call').contains(document.activeElement);
  $('call').hidden = true;
  $('call').classList.remove('modal', 'ringing', 'incoming');
  if (hadFocus) $('input').focus();
  renderHeader();
}

// showLinkOver puts a call link's page in its ended state: the reason and
// no call controls.
function showLinkOver(text) {
  const panel = $('call');
  panel.hidden = false;
  panel.classList.remove('ringing', 'incoming', 'modal');
  panel.classList.add('over');
  $('call-text').textContent = text;
  $('call-ring').hidden = true;
  $('call-over').hidden = false;
}

// ---- test and debugging surface ----

// parley.call() and parley.stats() describe the call; the end-to-end tests
// read them, and they help when a call does not connect.
window.parley = {
  call: () => ({
    id: call.id, state: call.state, role: call.role, endedText: call.endedText, connection: call.pc ? call.pc.connectionState : '',
    retried: call.retried, offers: call.offers, ringing: ringer.timer !== 0, chimes: ringer.chimes,
  }),
  async stats() {
    const out = { framesDecoded: 0, frameWidth: 0, audioPackets: 0, videoWidth: $('remote-video').videoWidth };
    if (!call.pc) return out;
    const report = await call.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      if (s.kind === 'video') {
        out.framesDecoded = s.framesDecoded || 0;
        out.frameWidth = s.frameWidth || 0;
      } else if (s.kind === 'audio') {
        out.audioPackets = s.packetsReceived || 0;
      }
    });
    return out;
  },
};

// ---- start ----

// A call link (#call=TOKEN) opens this page as the browser side of a
// terminal user's call: no chat, just the call.
const linkMatch = /^#call=([A-Z2-7]+)$/.exec(location.hash);
const linkMode = linkMatch !== null;

setupCalls();
if (linkMode) {
  history.replaceState(null, '', location.pathname); // the link works once anyway
  document.body.classList.add('link-mode');
  $('layout').hidden = true;
  $('call').hidden = false;
  $('call-text').textContent = 'Joining the call…';
  $('call-hangup').hidden = true;
  conn.addEventListener('attached', (e) => {
    $('conn-state').textContent = '';
    $('me').hidden = false;
    $('me-name').textContent = e.detail.self.name;
    $('copy-code').hidden = true;
    document.querySelector('.code-box').hidden = true;
  });
  conn.addEventListener('error', (e) => {
    call.endedText = e.detail.text;
    showLinkOver(e.detail.text);
  });
  conn.addEventListener('disconnected', () => {
    if (call.state === 'ended' || call.endedText !== '') return;
    if (call.state === 'idle') showLinkOver('the call link is closed');
    else endCall('the call link is closed');
  });
  conn.addEventListener('call-ended', (e) => { if (!call.id) endCall(e.detail.text); });
  conn.attach(linkMatch[1]);
} else {
  setupInput();
  setupChat();
  setupSession();
  conn.addEventListener('self', (e) => localStorage.setItem('parley-name', e.detail.self.name));
}
