package admin

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"html/template"
	"net/http"
	"strings"
)

const cookieName = "parley_admin"

// digest hashes a secret to a fixed length, so that comparing digests in
// constant time leaks neither content nor length.
func digest(purpose, secret string) []byte {
	sum := sha256.Sum256([]byte(purpose + "\x00" + secret))
	return sum[:]
}

// cookieValue is what the sign-in cookie holds: derived from the token,
// not the token itself.
func (s *Server) cookieValue() string {
	return hex.EncodeToString(digest("parley admin cookie", s.opts.Token))
}

func (s *Server) tokenMatches(given string) bool {
	return subtle.ConstantTimeCompare(digest("parley admin token", given), digest("parley admin token", s.opts.Token)) == 1
}

// authorized reports whether r carries the token, as a bearer token or as
// the sign-in cookie. Without a configured token everyone is.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return true
	}
	if given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return s.tokenMatches(given)
	}
	if c, err := r.Cookie(cookieName); err == nil {
		return subtle.ConstantTimeCompare(digest("cookie", c.Value), digest("cookie", s.cookieValue())) == 1
	}
	return false
}

// guard answers 401 to requests without the token.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="parley admin"`)
			plain(w, http.StatusUnauthorized, "token required: send Authorization: Bearer TOKEN, or sign in at /login")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// page sends browsers without the token to the sign-in form.
func (s *Server) page(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

var loginPage = template.Must(template.ParseFS(web, "web/login.html"))

func (s *Server) renderLogin(w http.ResponseWriter, status int, failed bool) {
	pageHeaders(w, "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ Failed bool }{failed})
}

func (s *Server) serveLogin(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" {
		http.Redirect(w, r, "/monitor", http.StatusSeeOther)
		return
	}
	s.renderLogin(w, http.StatusOK, false)
}

// maxLoginBody bounds the sign-in form: a token and little else.
const maxLoginBody = 4096

// signIn checks the token typed into the form and, if right, sets the
// cookie that lets the browser open the monitor.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	if s.opts.Token == "" {
		http.Redirect(w, r, "/monitor", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil || !s.tokenMatches(r.PostForm.Get("token")) {
		s.renderLogin(w, http.StatusUnauthorized, true)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     cookieName,
		Value:    s.cookieValue(),
		Path:     "/",
		HttpOnly: true,
		Secure:   r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/monitor", http.StatusSeeOther)
}
