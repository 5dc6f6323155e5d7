package webrtcsignal

import (
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"parley/internal/testkit"
)

func TestTLSFromCertificateFiles(t *testing.T) {
	ts := startServer(t)
	certFile, keyFile, pool := testkit.SelfSigned(t)
	ln, challenge, err := TLSSettings{CertFile: certFile, KeyFile: keyFile}.Listen("127.0.0.1:0")
	if err != nil || challenge != nil {
		t.Fatalf("challenge handler %v, error %v", challenge, err)
	}
	srv := &http.Server{Handler: ts.srv.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get("https://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.TLS == nil {
		t.Fatalf("status %d over TLS %v", resp.StatusCode, resp.TLS != nil)
	}
}

func TestTLSFromACME(t *testing.T) {
	cfg, challenge, err := TLSSettings{ACMEDomains: []string{"chat.example.org"}, ACMECache: t.TempDir()}.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.GetCertificate == nil || !slices.Contains(cfg.NextProtos, "acme-tls/1") || challenge == nil {
		t.Fatalf("not wired for ACME: %+v", cfg)
	}
	// Names outside the list are refused before any CA is asked.
	_, err = cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "evil.example.org"})
	if err == nil || !strings.Contains(err.Error(), "not allowed") && !strings.Contains(err.Error(), "not configured") {
		t.Fatalf("a certificate for another name: %v", err)
	}
	// The port-80 handler redirects to HTTPS.
	rec := httptest.NewRecorder()
	challenge.ServeHTTP(rec, httptest.NewRequest("GET", "http://chat.example.org/", nil))
	if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), "https://chat.example.org/") {
		t.Fatalf("port 80 answers %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestTLSSettingsErrors(t *testing.T) {
	certFile, keyFile, _ := testkit.SelfSigned(t)
	for _, tc := range []TLSSettings{
		{CertFile: certFile},
		{KeyFile: keyFile},
		{CertFile: certFile, KeyFile: keyFile, ACMEDomains: []string{"chat.example.org"}},
		{ACMEDomains: []string{"chat.example.org"}},
		{CertFile: keyFile, KeyFile: certFile},
	} {
		if _, _, err := tc.TLSConfig(); err == nil {
			t.Errorf("%+v was accepted", tc)
		}
	}
	if cfg, h, err := (TLSSettings{}).TLSConfig(); cfg != nil || h != nil || err != nil {
		t.Fatal("no settings should mean plain HTTP")
	}
	ln, _, err := TLSSettings{}.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, plain := ln.(*net.TCPListener); !plain {
		t.Fatalf("plain HTTP got a %T", ln)
	}
}
