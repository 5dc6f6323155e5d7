package embedded

import (
	"net/http"
	"strings"
	"testing"
)

// The monitoring listener is off unless asked for; asked for, it serves
// nats-server's statistics on the address given.
func TestMonitorListenServesStatistics(t *testing.T) {
	s := Settings{Name: "mon", ClientListen: "127.0.0.1:0", StoreDir: t.TempDir()}
	off, err := Start(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	if off.MonitorAddr() != nil {
		t.Errorf("monitoring listens on %s without monitor_listen", off.MonitorAddr())
	}
	off.Shutdown()

	s.MonitorListen = "127.0.0.1:0"
	s.StoreDir = t.TempDir()
	on, err := Start(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer on.Shutdown()
	resp, err := http.Get("http://" + on.MonitorAddr().String() + "/varz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/varz: %s", resp.Status)
	}
}

func TestMonitorListenMustBeHostPort(t *testing.T) {
	s := Settings{Name: "mon", ClientListen: "127.0.0.1:0", StoreDir: "x", MonitorListen: "8222"}
	if err := s.Validate(); err == nil || !strings.Contains(err.Error(), "monitor_listen") {
		t.Fatalf("monitor_listen 8222: %v", err)
	}
}
