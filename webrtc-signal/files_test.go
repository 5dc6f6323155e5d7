package webrtcsignal

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"strings"
	"testing"

	"parley/static"
)

// The client's files come compressed to browsers that take gzip, with an
// ETag that turns the next request into a bodiless 304.
func TestStaticFilesAreCompressedAndValidated(t *testing.T) {
	ts := startServer(t)
	get := func(path, encoding, etag string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.url+path, nil)
		if encoding != "" {
			req.Header.Set("Accept-Encoding", encoding)
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		// A Transport of its own, so that Go does not ask for gzip itself.
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	want, err := static.FS.ReadFile("app.js")
	if err != nil {
		t.Fatal(err)
	}
	zipped := get("/app.js", "gzip, deflate, br", "")
	if zipped.Header.Get("Content-Encoding") != "gzip" || zipped.Header.Get("Vary") != "Accept-Encoding" {
		t.Fatalf("app.js for a gzip browser: %v", zipped.Header)
	}
	raw, err := io.ReadAll(zipped.Body)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || string(got) != string(want) {
		t.Fatalf("app.js unzipped is %d bytes (%v), want %d", len(got), err, len(want))
	}
	if len(raw) > len(want)/2 {
		t.Fatalf("app.js compressed to %d of %d bytes", len(raw), len(want))
	}
	t.Logf("app.js: %d bytes, %d with gzip", len(want), len(raw))
	plain := get("/app.js", "gzip;q=0", "")
	body, _ := io.ReadAll(plain.Body)
	if plain.Header.Get("Content-Encoding") != "" || string(body) != string(want) {
		t.Fatalf("app.js for a browser without gzip: %v", plain.Header)
	}
	for _, resp := range []*http.Response{zipped, plain} {
		etag := resp.Header.Get("ETag")
		if !strings.HasPrefix(etag, `"`) || resp.Header.Get("Cache-Control") != "no-cache" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/javascript") {
			t.Fatalf("headers: %v", resp.Header)
		}
		again := get("/app.js", resp.Header.Get("Content-Encoding"), etag)
		if again.StatusCode != http.StatusNotModified {
			t.Fatalf("asked again with its ETag %s: %d", etag, again.StatusCode)
		}
	}
	if zipped.Header.Get("ETag") == plain.Header.Get("ETag") {
		t.Fatal("the compressed and the plain file share an ETag")
	}
	page := get("/", "gzip", "")
	if page.StatusCode != http.StatusOK || !strings.HasPrefix(page.Header.Get("Content-Type"), "text/html") || page.Header.Get("Content-Security-Policy") == "" {
		t.Fatalf("the page: %d %v", page.StatusCode, page.Header)
	}
	if icon := get("/favicon.svg", "", ""); icon.Header.Get("Content-Type") != "image/svg+xml" {
		t.Fatalf("the icon: %v", icon.Header)
	}
	if missing := get("/nothing.js", "", ""); missing.StatusCode != http.StatusNotFound {
		t.Fatalf("a missing file: %d", missing.StatusCode)
	}
}
