package sshui

// Banner is the software name in the server's identification string
// ("SSH-2.0-Parley"), which would otherwise name the SSH library.
const Banner = "Parley"

// Algorithms are the SSH algorithms a server offers, in order of
// preference.
type Algorithms struct {
	KeyExchanges, Ciphers, MACs []string
}

// DefaultAlgorithms is a modern set, stricter than OpenSSH 9's defaults:
// hybrid post-quantum and X25519 key exchange only (no NIST curves, no
// finite-field Diffie-Hellman, whose big modular exponentiations a peer
// could make the server do before logging in, nothing with SHA-1), AEAD
// ciphers first and counter mode only with encrypt-then-MAC SHA-2 MACs.
// OpenSSH, PuTTY (0.78) and Dropbear (2022.83) clients agree with it.
func DefaultAlgorithms() Algorithms {
	return Algorithms{
		KeyExchanges: []string{"mlkem768x25519-sha256", "curve25519-sha256"},
		Ciphers: []string{"chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com",
			"aes256-ctr", "aes192-ctr", "aes128-ctr"},
		MACs: []string{"hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"},
	}
}

func (a Algorithms) withDefaults() Algorithms {
	d := DefaultAlgorithms()
	if len(a.KeyExchanges) == 0 {
		a.KeyExchanges = d.KeyExchanges
	}
	if len(a.Ciphers) == 0 {
		a.Ciphers = d.Ciphers
	}
	if len(a.MACs) == 0 {
		a.MACs = d.MACs
	}
	return a
}
