// Parley's live monitor: shows the admin event stream. Every piece of
// text goes in through textContent; nothing is parsed as HTML.
"use strict";

const maxLines = 500;
const feed = document.getElementById("feed");
const statusLine = document.getElementById("status");

function setState(state, text) {
  document.body.dataset.state = state;
  statusLine.textContent = text;
}

function addLine(kind, time, text) {
  const li = document.createElement("li");
  li.className = kind;
  const t = document.createElement("time");
  t.dateTime = time;
  t.textContent = new Date(time).toLocaleTimeString();
  const span = document.createElement("span");
  span.textContent = text;
  li.append(t, span);
  feed.prepend(li);
  while (feed.childElementCount > maxLines) {
    feed.lastElementChild.remove();
  }
}

function formatUptime(seconds) {
  let s = Math.floor(seconds);
  const d = Math.floor(s / 86400); s %= 86400;
  const h = Math.floor(s / 3600); s %= 3600;
  const m = Math.floor(s / 60); s %= 60;
  return (d ? d + "d " : "") + (d || h ? h + "h " : "") + m + "m " + s + "s";
}

function showCounts(c) {
  const set = (id, v) => { document.getElementById(id).textContent = String(v); };
  set("users", c.users);
  set("ssh", c.sessions.ssh || 0);
  set("web", c.sessions.web || 0);
  set("rooms", c.rooms);
  set("private-chats", c.private_chats);
  set("viewers", c.viewers);
  set("uptime", formatUptime(c.uptime_seconds));
}

const events = new EventSource("/monitor/events");
events.addEventListener("open", () => setState("live", "live"));
events.addEventListener("error", () => {
  if (events.readyState === EventSource.CLOSED) {
    setState("lost", "disconnected (too many viewers, or signed out): reload to try again");
  } else {
    setState("lost", "connection lost: retrying…");
  }
});
events.addEventListener("counts", (e) => showCounts(JSON.parse(e.data)));
events.addEventListener("monitor", (e) => {
  const line = JSON.parse(e.data);
  addLine(line.kind, line.time, line.text);
});
events.addEventListener("missed", (e) => {
  addLine("missed", new Date().toISOString(), "this page was too slow and missed " + Number(e.data) + " events");
});
