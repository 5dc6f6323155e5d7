'use strict';

// What the log makes of messages beyond their text: links that can be
// clicked, runs of joins and leaves in a room folded into one line, and a
// notification and a count in the title when a mention or a private
// message comes while the tab is in the background.

// Only http and https become links; everything else, and the text around
// them, goes in as text.
const linkPattern = /\bhttps?:\/\/[^\s<>"]+/gi;

function countOf(s, ch) {
  return s.split(ch).length - 1;
}

// textWithLinks is a message's text with its web addresses clickable.
function textWithLinks(text) {
  const span = el('span', 'text');
  let last = 0;
  for (const m of text.matchAll(linkPattern)) {
    if (m.index < last) continue;
    let url = m[0];
    // Punctuation that ends a sentence ends the link, and so does a
    // closing parenthesis that opened before it.
    while (/[.,;:!?'\]]$/.test(url) || (url.endsWith(')') && countOf(url, '(') < countOf(url, ')'))) url = url.slice(0, -1);
    let parsed;
    try {
      parsed = new URL(url);
    } catch {
      continue;
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') continue;
    span.append(text.slice(last, m.index));
    const a = el('a', '', url);
    a.href = parsed.href;
    a.rel = 'noopener noreferrer';
    a.target = '_blank';
    span.append(a);
    last = m.index + url.length;
  }
  span.append(text.slice(last));
  return span;
}

// joinOrLeave reads the server's notice of a join or a leave, or null.
function joinOrLeave(m) {
  if (!m || m.kind !== 'system') return null;
  let r = /^(.+) joined$/.exec(m.text);
  if (r) return { name: r[1], joined: true };
  r = /^(.+) left(?: \(.*\))?$/.exec(m.text);
  return r ? { name: r[1], joined: false } : null;
}

// placeEntry appends an entry's line to the log; a join or a leave in a
// room goes into the run of them just above, shown as "5 joined, 3 left"
// with the names in its tooltip.
function placeEntry(log, conv, entry) {
  const jl = conv.view.kind === 'room' ? joinOrLeave(entry.msg) : null;
  const last = log.lastElementChild;
  if (jl && last && last.run) {
    last.run.push(jl);
    const joined = last.run.filter((x) => x.joined).length;
    const left = last.run.length - joined;
    const parts = [];
    if (joined) parts.push(joined + ' joined');
    if (left) parts.push(left + ' left');
    last.querySelector('.text').textContent = parts.join(', ');
    last.title = last.run.slice(-40).map((x) => x.name + (x.joined ? ' joined' : ' left')).join('\n');
    return;
  }
  const li = entryEl(entry);
  if (jl) li.run = [jl];
  log.append(li);
}

function pageHidden() {
  return document.visibilityState !== 'visible';
}

// noticeInBackground counts a message that comes to the conversation on
// screen while the tab is hidden, and raises a notification for a mention
// or a private message (if the person allowed them).
function noticeInBackground(c, m) {
  if (!pageHidden() || !m || m.kind === 'system' || !state.self || m.from.id === state.self.id) return;
  if (c.view.id === state.current) {
    c.unread++;
    renderConvs();
  }
  const direct = c.view.kind === 'private';
  if (!direct && !mentions(m.text)) return;
  if (!('Notification' in window) || Notification.permission !== 'granted') return;
  const n = new Notification(direct ? m.from.name + ' (private)' : m.from.name + ' in ' + c.view.title, {
    body: m.text.length > 200 ? m.text.slice(0, 200) + '…' : m.text,
    tag: 'parley-' + c.view.id,
  });
  n.addEventListener('click', () => {
    window.focus();
    conn.switchTo(c.view.id);
    n.close();
  });
}

// Back on the tab, what was counted on the conversation on screen is read.
document.addEventListener('visibilitychange', () => {
  const c = state.convs.get(state.current);
  if (!pageHidden() && c && c.unread > 0) {
    c.unread = 0;
    renderConvs();
  }
});
