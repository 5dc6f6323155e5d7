package webrtcsignal

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"

	"golang.org/x/crypto/acme/autocert"
)

// TLSSettings are the binary's TLS options: a certificate and key from
// files, or certificates fetched automatically (ACME) for public domains.
type TLSSettings struct {
	CertFile, KeyFile string
	// ACMEDomains are the names automatic certificates may be issued for;
	// ACMECache is where they are kept between runs.
	ACMEDomains []string
	ACMECache   string
	// Limit, when set, wraps the TCP listener under TLS, so that limits
	// on connections apply before any handshake work.
	Limit func(net.Listener) net.Listener
}

// TLSConfig builds the server's TLS configuration. It returns nil, nil
// when TLS is off (plain HTTP, for localhost or behind a proxy). For ACME
// it also returns the handler the binary must serve on port 80 for HTTP-01
// challenges (it redirects everything else to HTTPS); TLS-ALPN-01 works
// through the returned config on port 443.
func (t TLSSettings) TLSConfig() (*tls.Config, http.Handler, error) {
	files := t.CertFile != "" || t.KeyFile != ""
	switch {
	case files && len(t.ACMEDomains) > 0:
		return nil, nil, errors.New("use either a certificate and key or automatic certificates, not both")
	case files && (t.CertFile == "" || t.KeyFile == ""):
		return nil, nil, errors.New("a TLS certificate needs both --tls-cert and --tls-key")
	case files:
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, nil, err
		}
		return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}, nil, nil
	case len(t.ACMEDomains) > 0:
		if t.ACMECache == "" {
			return nil, nil, errors.New("automatic certificates need a cache directory")
		}
		m := &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(t.ACMEDomains...),
			Cache:      autocert.DirCache(t.ACMECache),
		}
		cfg := m.TLSConfig()
		cfg.MinVersion = tls.VersionTLS12
		return cfg, m.HTTPHandler(nil), nil
	}
	return nil, nil, nil
}

// Listen opens addr for the web side: with TLS when the settings ask for
// it, plain TCP otherwise. acmeHTTP is as for TLSConfig.
func (t TLSSettings) Listen(addr string) (ln net.Listener, acmeHTTP http.Handler, err error) {
	cfg, acmeHTTP, err := t.TLSConfig()
	if err != nil {
		return nil, nil, err
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	if t.Limit != nil {
		ln = t.Limit(ln)
	}
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
	}
	return ln, acmeHTTP, nil
}
