package webrtcsignal

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

const callID = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

func TestDecodeEveryClientMessage(t *testing.T) {
	mid, idx := "0", uint16(0)
	for _, tc := range []struct {
		in   string
		want clientMessage
	}{
		{`{"type":"hello"}`, helloMsg{Type: "hello"}},
		{`{"type":"open-code","id":4,"code":"vaj8 c053"}`, openCodeMsg{Type: "open-code", ID: 4, Code: "vaj8 c053"}},
		{`{"type":"hello","name":"zoë"}`, helloMsg{Type: "hello", Name: "zoë"}},
		{`{"type":"attach","token":"` + callID + `"}`, attachMsg{Type: "attach", Token: callID}},
		{`{"type":"resume","secret":"` + callID + `","name":"ann"}`, resumeMsg{Type: "resume", Secret: callID, Name: "ann"}},
		{`{"type":"input","id":7,"text":"/join #lobby"}`, inputMsg{Type: "input", ID: 7, Text: "/join #lobby"}},
		{`{"type":"switch","id":1,"conv":""}`, switchMsg{Type: "switch", ID: 1}},
		{`{"type":"members","conv":"#lobby"}`, membersMsg{Type: "members", Conv: "#lobby"}},
		{`{"type":"rooms"}`, roomsMsg{Type: "rooms"}},
		{`{"type":"call-invite","id":2,"conv":"@1-2"}`, callInviteMsg{Type: "call-invite", ID: 2, Conv: "@1-2"}},
		{`{"type":"call-accept","call":"` + callID + `"}`, callActionMsg{Type: "call-accept", Call: callID}},
		{`{"type":"call-decline","call":"` + callID + `"}`, callActionMsg{Type: "call-decline", Call: callID}},
		{`{"type":"call-hangup","call":"` + callID + `"}`, callActionMsg{Type: "call-hangup", Call: callID}},
		{`{"type":"call-restart","call":"` + callID + `"}`, callActionMsg{Type: "call-restart", Call: callID}},
		{`{"type":"call-failed","call":"` + callID + `"}`, callActionMsg{Type: "call-failed", Call: callID}},
		{`{"type":"call-media","call":"` + callID + `","audio":false,"video":true}`, mediaMsg{Type: "call-media", Call: callID, Video: true}},
		{`{"type":"call-offer","call":"` + callID + `","sdp":"v=0"}`, sdpMsg{Type: "call-offer", Call: callID, SDP: "v=0"}},
		{`{"type":"call-answer","call":"` + callID + `","sdp":"v=0"}`, sdpMsg{Type: "call-answer", Call: callID, SDP: "v=0"}},
		{`{"type":"call-ice","call":"` + callID + `","candidate":{"candidate":"candidate:1","sdpMid":"0","sdpMLineIndex":0}}`,
			iceMsg{Type: "call-ice", Call: callID, Candidate: iceCandidate{Candidate: "candidate:1", SDPMid: &mid, SDPMLineIndex: &idx}}},
	} {
		got, err := decode([]byte(tc.in), 1000)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.in, got, tc.want)
		}
	}
}

func TestDecodeRefusesBadFrames(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{``, "not a JSON object"},
		{`[]`, "not a JSON object"},
		{`"hello"`, "not a JSON object"},
		{`{}`, "missing type"},
		{`{"type":"launch"}`, "unknown type"},
		{`{"type":"hello","admin":true}`, "unknown field"},
		{`{"type":"hello"} {"type":"hello"}`, "not a JSON object"},
		{`{"type":"hello","name":5}`, "name must be a string, not number"},
		{`{"type":"input","id":-1,"text":"x"}`, "id must be a whole number from 0 to 4294967295, not number -1"},
		{`{"type":"input","id":1,"text":["x"]}`, "text must be a string, not array"},
		{`{"type":"hello","type":"attach"}`, `duplicate field "type"`},
		{`{"type":"call-ice","call":"` + callID + `","candidate":{"candidate":"a","candidate":"b"}}`, `duplicate field "candidate"`},
		{`{"type":"input","text":"` + strings.Repeat("x", maxTextBytes+1) + `"}`, "longer than"},
		{`{"type":"call-accept","call":"../../etc"}`, "bad call id"},
		{`{"type":"call-accept","call":"abcdefghijklmnopqrstuvwxyz"}`, "bad call id"},
		{`{"type":"attach","token":""}`, "bad token"},
		{`{"type":"resume","secret":"../etc"}`, "bad secret"},
		{`{"type":"call-offer","call":"` + callID + `","sdp":""}`, "empty sdp"},
		{`{"type":"call-offer","call":"` + callID + `","sdp":"` + strings.Repeat("v", 1001) + `"}`, "sdp longer than 1000"},
		{`{"type":"call-ice","call":"` + callID + `","candidate":{"candidate":"` + strings.Repeat("c", maxCandidateBytes+1) + `"}}`, "longer than"},
		{`{"type":"call-ice","call":"` + callID + `","candidate":{"candidate":"c","sdpMLineIndex":70000}}`, "candidate.sdpMLineIndex must be a whole number from 0 to 65535"},
		{"{\"type\":\"hello\",\"name\":\"\xff\"}", "not valid UTF-8"},
	} {
		_, err := decode([]byte(tc.in), 1000)
		if err == nil || !errors.Is(err, errProtocol) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%.60s: got %v, want an error about %q", tc.in, err, tc.why)
		}
		if err != nil && (strings.Contains(err.Error(), "Go ") || strings.Contains(err.Error(), "uint")) {
			t.Errorf("%.60s: the error speaks of Go types: %v", tc.in, err)
		}
	}
}

// FuzzDecode: no frame makes the decoder panic, and what it accepts is
// within its limits.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"type":"hello","name":"ann"}`))
	f.Add([]byte(`{"type":"call-ice","call":"` + callID + `","candidate":{"candidate":"c","sdpMid":"0"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := decode(data, 4096)
		if err != nil {
			if msg != nil || !errors.Is(err, errProtocol) {
				t.Fatalf("error %v with message %#v", err, msg)
			}
			return
		}
		switch m := msg.(type) {
		case inputMsg:
			if len(m.Text) > maxTextBytes {
				t.Fatal("input over the limit accepted")
			}
		case sdpMsg:
			if len(m.SDP) > 4096 || m.SDP == "" || !isToken(m.Call) {
				t.Fatalf("bad sdp message accepted: %#v", m)
			}
		case iceMsg:
			if len(m.Candidate.Candidate) > maxCandidateBytes || !isToken(m.Call) {
				t.Fatalf("bad candidate accepted: %#v", m)
			}
		case attachMsg:
			if !isToken(m.Token) {
				t.Fatal("bad token accepted")
			}
		}
		if msg.clientType() == "" {
			t.Fatal("a message without a type")
		}
	})
}
