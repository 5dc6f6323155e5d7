package main

import (
	"net/http"

	webrtcsignal "parley/webrtc-signal"
)

// routes mounts every endpoint of the HTTP server: the web side serves
// the client, /ws and the one /healthz. A mux of its own, never
// http.DefaultServeMux, where net/http/pprof registers itself.
func routes(web *webrtcsignal.Server) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	return mux
}
