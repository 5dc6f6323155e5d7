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

const conn = new ParleyConnection(wsURL());

const state = {
  self: null,
  code: '',
  commands: [],
  convs: new Map(), // id -> { view, log: [entries], unread, members: Map|null }
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

function addConv(view) {
  const existing = state.convs.get(view.id);
  const c = existing || { unread: 0, members: null };
  c.view = view;
  c.log = view.history.map((m) => ({ msg: m }));
  if (!existing) {
    state.convs.set(view.id, c);
    state.order.push(view.id);
  }
  return c;
}

function removeConv(id) {
  state.convs.delete(id);
  state.order = state.order.filter((x) => x !== id);
}

function renderConvs() {
  const ul = $('convs');
  ul.replaceChildren();
  for (const id of state.order) {
    const c = state.convs.get(id);
    const li = el('li');
    li.dataset.conv = id;
    if (id === state.current) li.classList.add('current');
    li.append(c.view.kind === 'private' ? el('span', 'muted', '@') : el('span', 'muted', ''));
    li.append(nameEl(c.view.title));
    if (c.unread > 0) li.append(el('span', 'count', String(c.unread)));
    li.addEventListener('click', () => { closeDrawers(); conn.switchTo(id).then((err) => err && status(err, true)); });
    ul.append(li);
  }
  $('no-convs').hidden = state.order.length > 0;
}

function renderRooms() {
  const ul = $('rooms');
  ul.replaceChildren();
  for (const r of state.rooms) {
    const li = el('li');
    li.title = r.description || '';
    li.append(nameEl(r.name));
    let count = String(r.members);
    if (r.maxMembers) count += '/' + r.maxMembers;
    li.append(el('span', 'tag', (r.locked ? '🔒 ' : '') + count));
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
    li.append('* ', nameEl(m.from.name, 'from'), el('span', 'text', m.text));
  } else {
    li.append(nameEl(m.from.name, 'from'), el('span', 'text', m.text));
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
  if (c) for (const entry of c.log) log.append(entryEl(entry));
  log.scrollTop = log.scrollHeight;
}

function appendEntry(convID, entry) {
  const c = state.convs.get(convID);
  if (!c) return;
  c.log.push(entry);
  if (c.log.length > 1000) c.log.splice(0, c.log.length - 1000);
  if (convID !== state.current) {
    if (entry.msg && entry.msg.kind !== 'system') {
      c.unread++;
      renderConvs();
    }
    return;
  }
  const log = $('log');
  const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(entryEl(entry));
  if (atBottom || (entry.msg && state.self && entry.msg.from.id === state.self.id)) log.scrollTop = log.scrollHeight;
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
    li.append(nameEl(m.name));
    if (m.id === state.self.id) {
      li.append(el('span', 'tag', 'you'));
    } else {
      li.append(el('span', 'tag', m.transport));
      if (m.keyTag) li.append(el('span', 'tag', 'key ' + m.keyTag));
      li.title = 'Private chat with ' + m.name;
      li.addEventListener('click', () => { closeDrawers(); shown(conn.dm(m.name)); });
    }
    ul.append(li);
  }
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
    shown(conn.openCode(code)).then((err) => { if (!err) $('code-input').value = ''; });
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
    conn.invite(state.current).then((err) => err && status(err, true));
  });
}

function closeDrawers() {
  if (window.matchMedia('(max-width: 720px)').matches) {
    $('sidebar').classList.remove('open');
    $('members').classList.remove('open');
  }
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
      const box = el('div', 'info');
      box.append(entryEl(entry));
      home.append(box);
    }
  });
  conn.addEventListener('notice', (e) => status(e.detail.text));
  conn.addEventListener('error', (e) => status(e.detail.text, true));
  conn.addEventListener('closing', (e) => status(e.detail.text, true));
  conn.addEventListener('resync', (e) => {
    const d = e.detail;
    state.convs.clear();
    state.order = [];
    for (const v of d.convs) addConv(v);
    status('you missed ' + d.missed + ' updates: the page has been refreshed');
    setCurrent(d.current);
  });
  conn.addEventListener('disconnected', (e) => {
    $('conn-state').textContent = 'disconnected' + (e.detail.reason ? ': ' + e.detail.reason : '') + ' — reload to reconnect';
    endCall('the connection to the server was lost');
  });
}

// ---- calls ----

const call = {
  id: '',
  state: 'idle', // idle, ringing-out, ringing-in, connecting, active, ended
  role: '',
  peer: null,
  pc: null,
  local: null,
  media: null,
  chain: Promise.resolve(),
  startedAt: 0,
  timer: 0,
  endedText: '',
  restarts: 0,
};

function showCall(text, ringing) {
  $('call').hidden = false;
  $('call').classList.toggle('ringing', ringing);
  $('call').classList.toggle('incoming', call.state === 'ringing-in');
  $('call-text').textContent = text;
  $('call-ring').hidden = call.state !== 'ringing-in';
  $('call-hangup').textContent = call.state === 'ringing-out' ? 'Cancel' : 'Hang up';
  $('call-hangup').hidden = call.state === 'ringing-in';
  renderHeader();
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
  call.state = stateName;
  call.endedText = '';
  showCall(text, true);
  return true;
}

function setupCalls() {
  conn.addEventListener('call-ringing', (e) => {
    if (startCallUI(e.detail, 'ringing-out', 'Calling ' + e.detail.peer.name + '…')) getMedia();
  });
  conn.addEventListener('call-incoming', (e) => {
    startCallUI(e.detail, 'ringing-in', e.detail.peer.name + ' is calling you');
  });
  conn.addEventListener('call-start', (e) => {
    if (e.detail.call !== call.id && call.id !== '') return;
    call.id = e.detail.call;
    call.peer = e.detail.peer;
    call.role = e.detail.role;
    call.state = 'connecting';
    showCall('Connecting to ' + e.detail.peer.name + '…', false);
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
  conn.addEventListener('call-ended', (e) => {
    if (e.detail.call === call.id) endCall(e.detail.text);
  });

  $('call-accept').addEventListener('click', () => {
    getMedia();
    conn.accept(call.id);
    call.state = 'connecting';
    showCall('Connecting…', false);
  });
  $('call-decline').addEventListener('click', () => conn.decline(call.id));
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

function startPeer(iceServers) {
  const pc = new RTCPeerConnection({ iceServers });
  call.pc = pc;
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
      call.restarts = 0;
      if (!call.startedAt) {
        call.startedAt = Date.now();
        call.timer = setInterval(tickDuration, 1000);
      }
      showCall('In a call with ' + call.peer.name, false);
    }
  });
  pc.addEventListener('iceconnectionstatechange', () => {
    if (pc.iceConnectionState !== 'failed') return;
    if (call.restarts++ >= 3) {
      conn.hangUp(call.id);
      return;
    }
    status('the connection was lost: reconnecting the call…');
    if (call.role === 'offerer') pc.restartIce();
    else conn.askRestart(call.id);
  });
  if (call.role === 'offerer') {
    pc.addEventListener('negotiationneeded', () => {
      call.chain = call.chain.then(async () => {
        await pc.setLocalDescription();
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
  });
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
}

function endCall(text) {
  if (call.state === 'idle') return;
  if (call.pc) call.pc.close();
  if (call.local) for (const t of call.local.getTracks()) t.stop();
  clearInterval(call.timer);
  $('remote-video').srcObject = null;
  $('local-video').srcObject = null;
  Object.assign(call, { id: '', state: 'ended', role: '', peer: null, pc: null, local: null, media: null, chain: Promise.resolve(), startedAt: 0, timer: 0, endedText: text, restarts: 0 });
  $('call-duration').textContent = '0:00';
  $('call-mute').textContent = 'Mute';
  $('call-camera').textContent = 'Camera off';
  $('call-mute').setAttribute('aria-pressed', 'false');
  $('call-camera').setAttribute('aria-pressed', 'false');
  $('call-unmute-remote').hidden = true;
  status(text);
  if (linkMode) {
    $('call-text').textContent = text + '. You can close this page.';
    $('call-ring').hidden = true;
    $('call-hangup').hidden = true;
    $('call').classList.remove('ringing', 'incoming');
    return;
  }
  $('call').hidden = true;
  renderHeader();
}

// ---- test and debugging surface ----

// parley.call() and parley.stats() describe the call; the end-to-end tests
// read them, and they help when a call does not connect.
window.parley = {
  call: () => ({ id: call.id, state: call.state, role: call.role, endedText: call.endedText, connection: call.pc ? call.pc.connectionState : '' }),
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
    $('call-text').textContent = e.detail.text;
    call.endedText = e.detail.text;
  });
  conn.addEventListener('disconnected', () => endCall('the call link is closed'));
  conn.addEventListener('call-ended', (e) => { if (!call.id) endCall(e.detail.text); });
  conn.attach(linkMatch[1]);
} else {
  setupInput();
  setupChat();
  conn.hello(localStorage.getItem('parley-name') || '');
  conn.addEventListener('self', (e) => localStorage.setItem('parley-name', e.detail.self.name));
}
