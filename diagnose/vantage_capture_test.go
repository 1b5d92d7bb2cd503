package diagnose_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/reassembly"
)

// vantageRecorder keeps the vantage of every connection of a capture.
type vantageRecorder struct{ got map[int]string }

func (v *vantageRecorder) Opened(*reassembly.Connection) reassembly.StreamConsumer { return nil }
func (v *vantageRecorder) Closed(c *reassembly.Connection)                         { v.got[c.ID] = diagnose.Vantage(c) }

// TestVantageOnRealCaptures checks the vantage inference against captures
// whose recording point MANIFEST.md states.
func TestVantageOnRealCaptures(t *testing.T) {
	for _, tc := range []struct {
		desc, file, want string
	}{
		{desc: "client side, 50 ms relay", file: "handshake-short-conns.pcap", want: diagnose.VantageClient},
		{desc: "server's TAP, 20 ms relay", file: "loss-retransmit.pcap", want: diagnose.VantageServer},
		{desc: "mirror port between the stacks, no delay", file: "vlan.pcap", want: diagnose.VantageMiddle},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			path := filepath.Join(capturesDir, tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("no %s", path)
			}
			r, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			rec := &vantageRecorder{got: map[int]string{}}
			asm := reassembly.NewAssembler(reassembly.Config{}, rec)
			if _, err := capturetest.EachSegment(r, asm.Add); err != nil {
				t.Fatal(err)
			}
			asm.Flush()
			if rec.got[1] != tc.want {
				t.Errorf("connection 1: Vantage = %q, want %q (all: %v)", rec.got[1], tc.want, rec.got)
			}
		})
	}
}
