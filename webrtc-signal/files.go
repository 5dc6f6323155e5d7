package webrtcsignal

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// staticFiles serves the embedded client. Each file is read, hashed and
// compressed once at start: the hash is its ETag, so a browser asks again
// with If-None-Match and gets a bodiless 304 until Parley is upgraded, and
// a browser that accepts gzip gets the compressed bytes.
type staticFiles map[string]*staticFile // by URL path

type staticFile struct {
	name        string // for the Content-Type
	plain, gz   []byte // gz is nil when compressing does not pay
	etag, gzTag string
}

func newStaticFiles(fsys fs.FS) (staticFiles, error) {
	files := staticFiles{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		tag := base64.RawURLEncoding.EncodeToString(sum[:12])
		f := &staticFile{name: p, plain: data, etag: `"` + tag + `"`, gzTag: `"` + tag + `-gz"`}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.Write(data)
		if err := zw.Close(); err != nil {
			return fmt.Errorf("compressing %s: %w", p, err)
		}
		if buf.Len() < len(data)*9/10 {
			f.gz = buf.Bytes()
		}
		files["/"+p] = f
		return nil
	})
	files["/"] = files["/index.html"]
	return files, err
}

func (files staticFiles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := files[r.URL.Path]
	if f == nil {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	if ct := mime.TypeByExtension(path.Ext(f.name)); ct != "" {
		h.Set("Content-Type", ct)
	}
	body, tag := f.plain, f.etag
	if f.gz != nil && acceptsGzip(r) {
		body, tag = f.gz, f.gzTag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", tag)
	// ServeContent answers If-None-Match with 304 and serves HEAD.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads Accept-Encoding, honouring "gzip;q=0".
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}
