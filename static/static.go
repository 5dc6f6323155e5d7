// Package static carries the browser client: plain HTML, CSS and
// JavaScript, embedded in the binary, with no build step.
package static

import "embed"

// FS holds the client's files at its root.
//
//go:embed index.html app.css favicon.svg protocol.js session.js messages.js app.js
var FS embed.FS
