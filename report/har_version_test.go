package report

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
)

// versionMismatchCapture is one connection whose client asks in HTTP/1.0
// and whose server answers in HTTP/1.1, as servers commonly do (RFC 9110
// section 6.2: a server sends its own highest version).
func versionMismatchCapture(t *testing.T) *capture.Reader {
	t.Helper()
	var buf bytes.Buffer
	w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{})
	cli, srv := netip.MustParseAddrPort("10.0.0.1:40000"), netip.MustParseAddrPort("192.0.2.1:80")
	now := int64(1.7e18)
	seg := func(src, dst netip.AddrPort, seq, ack uint32, fl capture.TCPFlags, payload string) {
		w.Write(now, capturetest.Ethernet(capturetest.TCP{Src: src, Dst: dst, Seq: seq, Ack: ack, Flags: fl, Window: 65535, Payload: []byte(payload)}.IP()))
		now += 1e6
	}
	req := "GET / HTTP/1.0\r\nHost: example.test\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	q, s := uint32(len(req)), uint32(len(resp))
	seg(cli, srv, 100, 0, capture.FlagSYN, "")
	seg(srv, cli, 500, 101, capture.FlagSYN|capture.FlagACK, "")
	seg(cli, srv, 101, 501, capture.FlagACK, "")
	seg(cli, srv, 101, 501, capture.FlagACK|capture.FlagPSH, req)
	seg(srv, cli, 501, 101+q, capture.FlagACK|capture.FlagPSH, resp)
	seg(srv, cli, 501+s, 101+q, capture.FlagACK|capture.FlagFIN, "")
	seg(cli, srv, 101+q, 502+s, capture.FlagACK|capture.FlagFIN, "")
	seg(srv, cli, 502+s, 102+q, capture.FlagACK, "")
	r, err := capture.NewReader(&buf, "versions.pcap")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestHARResponseVersionIsTheResponses checks that each HAR message carries
// its own HTTP version: a HTTP/1.0 request answered in HTTP/1.1 is not
// written as a HTTP/1.0 response. Both listings are tried: in memory and
// read back from the spill file, which has to carry the version too.
func TestHARResponseVersionIsTheResponses(t *testing.T) {
	for _, spill := range []bool{false, true} {
		a := analysis.New(analysis.Options{KeepHeaders: true, SpillListing: spill, SpillThreshold: -1})
		src := versionMismatchCapture(t)
		if err := a.AddSource("versions.pcap", src.Format(), src); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := WriteHAR(&b, a.Report(), HAROptions{}); err != nil {
			t.Fatal(err)
		}
		var doc harDoc
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if len(doc.Log.Entries) != 1 {
			t.Fatalf("spill %v: %d entries, want 1", spill, len(doc.Log.Entries))
		}
		e := doc.Log.Entries[0]
		if e.Request.HTTPVersion != "HTTP/1.0" || e.Response.HTTPVersion != "HTTP/1.1" {
			t.Errorf("spill %v: request %s, response %s; want HTTP/1.0 and HTTP/1.1, each message's own",
				spill, e.Request.HTTPVersion, e.Response.HTTPVersion)
		}
	}
}
