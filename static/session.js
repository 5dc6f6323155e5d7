'use strict';

// The tab's hold on its user, so that a page can stay open all day: the
// resume secret, kept in sessionStorage (it lives as long as the tab, is
// never put in an address and goes only to the server), reconnecting by
// itself after a drop, waiting longer each time with some jitter so that
// a restarted server is not met by every tab at once, the banner that
// says what is going on, and the unread counts kept across a reload.

const kept = {
  get(key) {
    try { return sessionStorage.getItem('parley-' + key); } catch { return null; }
  },
  set(key, value) {
    try { sessionStorage.setItem('parley-' + key, value); } catch { /* storage is off: no resume */ }
  },
};

const session = {
  attempt: 0, // reconnections tried since the last welcome
  timer: 0,
  countdown: 0,
  remembered: null, // conv id -> {seen, unread} from before a reload
  quitting: false, // the person typed /quit: the end of the connection is theirs
};

// noteQuit marks a typed /quit (or one of its aliases), after which the
// page must not come back by itself as a new user.
function noteQuit(text) {
  const word = text.trim().split(/\s/)[0].toLowerCase();
  const quit = state.commands.find((c) => c.name === 'quit');
  if (quit && (word === '/quit' || (quit.aliases || []).includes(word))) session.quitting = true;
}

// rememberedConv is what the page knew of a conversation before it was
// reloaded, or null.
function rememberedConv(id) {
  if (session.remembered === null) {
    try { session.remembered = JSON.parse(kept.get('convs') || '{}') || {}; } catch { session.remembered = {}; }
  }
  const r = session.remembered[id];
  return r && Number.isFinite(r.seen) && Number.isFinite(r.unread) ? r : null;
}

function rememberConvs() {
  const out = {};
  for (const [id, c] of state.convs) out[id] = { seen: c.seen, unread: c.unread };
  kept.set('convs', JSON.stringify(out));
}

function connectSession() {
  clearTimeout(session.timer);
  clearInterval(session.countdown);
  session.timer = 0;
  if (document.body.classList.contains('offline')) showBanner('Reconnecting…');
  const name = localStorage.getItem('parley-name') || '';
  const secret = kept.get('resume');
  if (secret) conn.resume(secret, name);
  else conn.hello(name);
}

// reconnectDelay doubles from about a second to about half a minute; each
// wait is drawn between half and all of it.
function reconnectDelay(attempt) {
  const ceiling = Math.min(30000, 1000 * 2 ** attempt);
  return ceiling / 2 + Math.random() * ceiling / 2;
}

function showBanner(text, action, onAction) {
  $('banner').hidden = false;
  $('banner-text').textContent = text;
  const b = $('banner-action');
  b.hidden = !action;
  b.textContent = action || '';
  b.onclick = onAction || null;
}

function hideBanner() {
  $('banner').hidden = true;
}

// setOffline marks the page as without a user: the code in the header may
// be gone by the time the connection is back, so it cannot be copied.
function setOffline(offline) {
  document.body.classList.toggle('offline', offline);
  $('copy-code').disabled = offline;
}

function scheduleReconnect(reason) {
  const until = Date.now() + reconnectDelay(session.attempt++);
  const why = reason ? ' (' + reason + ')' : '';
  const tick = () => {
    const s = Math.max(0, Math.ceil((until - Date.now()) / 1000));
    showBanner('Offline' + why + ': reconnecting in ' + s + ' s…', 'Reconnect now', connectSession);
  };
  tick();
  setOffline(true);
  clearInterval(session.countdown);
  session.countdown = setInterval(tick, 1000);
  session.timer = setTimeout(connectSession, until - Date.now());
}

function setupSession() {
  conn.addEventListener('welcome', (e) => {
    const d = e.detail;
    session.attempt = 0;
    hideBanner();
    setOffline(false);
    if (d.resume) kept.set('resume', d.resume);
    const old = kept.get('code');
    kept.set('code', d.code);
    if (!d.resumed && old && old !== d.code) {
      showBanner('Your old code ' + old + ' is gone: the server restarted, or you were away too long. ' +
        'You are a new user now, and your code is ' + d.code + '.', 'OK', hideBanner);
    }
  });
  conn.addEventListener('disconnected', (e) => {
    clearTimeout(session.timer);
    clearInterval(session.countdown);
    session.timer = 0;
    if (session.quitting) {
      session.quitting = false;
      try { // the next user is a new one, and knows it
        sessionStorage.removeItem('parley-resume');
        sessionStorage.removeItem('parley-code');
      } catch { /* nothing kept */ }
      showBanner('You have left Parley.', 'Join again', connectSession);
      setOffline(true);
      return;
    }
    if (e.detail.code === 4000) { // another tab took this user
      showBanner('This chat is open in another tab.', 'Use it here', connectSession);
      setOffline(true);
      return;
    }
    scheduleReconnect(e.detail.reason);
  });
  window.addEventListener('online', () => { if (session.timer) connectSession(); });
  window.addEventListener('pagehide', rememberConvs);
  // Leaving the page while a private chat or a call is open would end it
  // for the other person (after the grace period): ask first.
  window.addEventListener('beforeunload', (e) => {
    const busy = call.id !== '' || [...state.convs.values()].some((c) => c.view.kind === 'private');
    if (busy) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
  connectSession();
}
