package connlimit

import (
	"net/http"
	"time"
)

// BodyDeadline gives every request that carries a body a read deadline
// of timeout from the moment its headers were read: net/http's
// ReadHeaderTimeout stops at the headers, so a client announcing a body
// and sending it a byte at a time would otherwise hold its connection
// for ever. Requests without a body (a WebSocket upgrade, a page, a
// long event stream) keep no deadline: they have nothing left to read.
func BodyDeadline(next http.Handler, timeout time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(timeout))
		}
		next.ServeHTTP(w, r)
	})
}
