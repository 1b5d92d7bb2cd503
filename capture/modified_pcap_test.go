package capture_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// modifiedPcap writes a small modified pcap (magic a1b2cd34) of HTTP
// segments, one of them cut by the snap length.
func modifiedPcap(bigEndian bool) []byte {
	var buf bytes.Buffer
	w := ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{Modified: true, BigEndian: bigEndian})
	w.Fields = ct.ModifiedFields{IfIndex: 2, Protocol: ct.EtherIPv4}
	big := seg4()
	big.Payload = bytes.Repeat([]byte("x"), 1000)
	cut := ct.Ethernet(big.IP())
	w.Write(1_600_000_000_000_001_000, ct.Ethernet(seg4().IP()))
	w.WriteRecord(1_600_000_000_250_000_000, cut[:200], len(cut))
	w.Write(1_600_000_001_000_000_000, ct.Ethernet(seg6().IP()))
	return buf.Bytes()
}

// TestModifiedPcapAgainstTshark writes a modified pcap with the test
// helper and checks that tshark reads the same frames from it as the
// Reader and Decoder: times, lengths, ports and TCP payload lengths.
func TestModifiedPcapAgainstTshark(t *testing.T) {
	for _, bigEndian := range []bool{false, true} {
		t.Run(fmt.Sprint("big-endian=", bigEndian), func(t *testing.T) {
			data := modifiedPcap(bigEndian)
			r, pkts := mustRead(t, data)
			if r.Format() != "pcap-modified" || len(pkts) != 3 {
				t.Fatalf("format %q, %d packets", r.Format(), len(pkts))
			}
			d := capture.NewDecoder()
			var got []string
			for i := range pkts {
				p := &pkts[i]
				var s capture.Segment
				if reason := d.Decode(p, &s); reason != capture.SkipNone {
					t.Fatalf("frame %d: %v", p.Frame, reason)
				}
				got = append(got, fmt.Sprintf("%d.%09d\t%d\t%d\t%d\t%d", p.Time/1e9, p.Time%1e9, p.OriginalLength, p.CaptureLength, s.Src.Port(), s.PayloadLength))
			}
			if _, err := exec.LookPath("tshark"); err != nil {
				t.Skip("tshark not installed")
			}
			path := filepath.Join(t.TempDir(), "modified.pcap")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("tshark", "-n", "-r", path, "-T", "fields", "-e", "frame.time_epoch",
				"-e", "frame.len", "-e", "frame.cap_len", "-e", "tcp.srcport", "-e", "tcp.len").Output()
			if err != nil {
				t.Fatalf("tshark rejects the file: %v", err)
			}
			want := strings.Split(strings.TrimSpace(string(out)), "\n")
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("connscope reads\n%s\ntshark reads\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestModifiedPcapCutRecordHeader: a modified pcap that ends inside the
// extra 8 bytes of a record header is damaged there, at that frame.
func TestModifiedPcapCutRecordHeader(t *testing.T) {
	data := modifiedPcap(false)
	first := 24 + 24 + len(ct.Ethernet(seg4().IP()))
	r, err := capture.NewReader(bytes.NewReader(data[:first+20]), "cut")
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, r)
	var ce *capture.Error
	if len(pkts) != 1 || !errors.As(err, &ce) || !errors.Is(err, capture.ErrTruncated) || ce.Frame != 2 || ce.Offset != int64(first) {
		t.Fatalf("%d packets, error %v; want 1 packet and frame 2 truncated at offset %d", len(pkts), err, first)
	}
}
