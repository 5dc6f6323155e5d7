'use strict';

// Parley's WebSocket protocol (docs/protocol.md): one JSON object per
// frame, with a "type" field. This file only speaks the protocol; app.js
// draws the page. Every server message is dispatched as an event named
// after its type, with the message as the event's detail.
class ParleyConnection extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.nextID = 1;
    this.pending = new Map();
  }

  // open connects and sends the first message: hello (a chat session),
  // resume (the user of an earlier connection) or attach (the browser side
  // of a call link). Events of a socket that has been replaced are ignored.
  open(first) {
    if (this.ws) this.ws.close();
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => this.send(first));
    ws.addEventListener('message', (e) => {
      if (this.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg === null || typeof msg !== 'object' || typeof msg.type !== 'string') return;
      if (msg.type === 'result') {
        const resolve = this.pending.get(msg.id);
        if (resolve) {
          this.pending.delete(msg.id);
          resolve(msg.error || '');
        }
      }
      this.dispatchEvent(new CustomEvent(msg.type, { detail: msg }));
    });
    ws.addEventListener('close', (e) => {
      if (this.ws !== ws) return;
      for (const resolve of this.pending.values()) resolve('not connected');
      this.pending.clear();
      this.dispatchEvent(new CustomEvent('disconnected', { detail: { code: e.code, reason: e.reason } }));
    });
  }

  get connected() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  send(msg) {
    if (!this.connected) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // request sends a message that the server answers with a result; the
  // promise gives the error text, or '' on success.
  request(type, fields) {
    const id = this.nextID++;
    return new Promise((resolve) => {
      if (!this.send({ type, id, ...fields })) {
        resolve('not connected');
        return;
      }
      this.pending.set(id, resolve);
    });
  }

  hello(name) { this.open(name ? { type: 'hello', name, resumable: true } : { type: 'hello', resumable: true }); }
  resume(secret, name) { this.open(name ? { type: 'resume', secret, name } : { type: 'resume', secret }); }
  attach(token) { this.open({ type: 'attach', token }); }
  input(text) { return this.request('input', { text }); }
  switchTo(conv) { return this.request('switch', { conv }); }
  openCode(code) { return this.request('open-code', { code }); }
  join(room, password) { return this.request('join', { room, password }); }
  dm(name) { return this.request('dm', { name }); }
  leave(conv) { return this.request('leave', { conv }); }
  members(conv) { this.send({ type: 'members', conv }); }
  rooms() { this.send({ type: 'rooms' }); }

  // Calls.
  invite(conv) { return this.request('call-invite', { conv }); }
  accept(call) { this.send({ type: 'call-accept', call }); }
  decline(call) { this.send({ type: 'call-decline', call }); }
  hangUp(call) { this.send({ type: 'call-hangup', call }); }
  askRestart(call) { this.send({ type: 'call-restart', call }); }
  giveUp(call) { this.send({ type: 'call-failed', call }); }
  media(call, audio, video) { this.send({ type: 'call-media', call, audio, video }); }
  offer(call, sdp) { this.send({ type: 'call-offer', call, sdp }); }
  answer(call, sdp) { this.send({ type: 'call-answer', call, sdp }); }
  ice(call, c) {
    const candidate = { candidate: c.candidate };
    if (c.sdpMid !== null && c.sdpMid !== undefined) candidate.sdpMid = c.sdpMid;
    if (c.sdpMLineIndex !== null && c.sdpMLineIndex !== undefined) candidate.sdpMLineIndex = c.sdpMLineIndex;
    if (c.usernameFragment) candidate.usernameFragment = c.usernameFragment;
    this.send({ type: 'call-ice', call, candidate });
  }
}

// wsURL is the address of the endpoint next to the page.
function wsURL() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return scheme + '//' + location.host + '/ws';
}
