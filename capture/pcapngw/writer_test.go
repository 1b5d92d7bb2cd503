package pcapngw

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
)

// samplePackets are Ethernet frames with nanosecond times, odd lengths
// (to exercise padding), an empty frame and a snap-length cut one.
func samplePackets() []capture.Packet {
	var out []capture.Packet
	t0 := int64(1_764_000_000_123_456_789)
	for i, n := range []int{60, 61, 62, 63, 1514, 0, 14, 9001} {
		data := make([]byte, n)
		for j := range data {
			data[j] = byte(i*31 + j)
		}
		orig := n
		if i == 4 {
			orig = 4000 // cut by the snap length
		}
		out = append(out, capture.Packet{
			Frame: uint64(i + 1), Time: t0 + int64(i)*1_000_003, CaptureLength: n,
			OriginalLength: orig, LinkType: capture.LinkTypeEthernet, Data: data,
		})
	}
	return out
}

func writeSample(t *testing.T) (string, []capture.Packet) {
	t.Helper()
	pkts := samplePackets()
	path := filepath.Join(t.TempDir(), "live.pcapng")
	w, err := Create(path, "connscope test", Interface{Name: "cslive0", LinkType: capture.LinkTypeEthernet, Snaplen: 262144})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pkts {
		if err := w.WritePacket(&pkts[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteStats(Stats{Start: pkts[0].Time, End: pkts[len(pkts)-1].Time, Received: 10, Dropped: 2}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Packets() != uint64(len(pkts)) {
		t.Errorf("Packets() = %d, want %d", w.Packets(), len(pkts))
	}
	return path, pkts
}

// TestReadBackWithCapture reads the file with connscope's own reader and
// expects every field back exactly, nanoseconds included.
func TestReadBackWithCapture(t *testing.T) {
	path, want := writeSample(t)
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for i := range want {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		w := want[i]
		if got.Frame != w.Frame || got.Time != w.Time || got.CaptureLength != w.CaptureLength ||
			got.OriginalLength != w.OriginalLength || got.LinkType != w.LinkType || !bytes.Equal(got.Data, w.Data) {
			t.Errorf("packet %d: got frame %d time %d caplen %d len %d link %d (%d bytes), want frame %d time %d caplen %d len %d link %d (%d bytes)",
				i+1, got.Frame, got.Time, got.CaptureLength, got.OriginalLength, got.LinkType, len(got.Data),
				w.Frame, w.Time, w.CaptureLength, w.OriginalLength, w.LinkType, len(w.Data))
		}
	}
	if p, err := r.Next(); err != io.EOF {
		t.Errorf("after the last packet: %v %v, want io.EOF", p, err)
	}
}

// TestToolsAccept checks that Wireshark's tools read the file: capinfos
// validates it, tshark sees every frame with its length and nanosecond time.
func TestToolsAccept(t *testing.T) {
	path, want := writeSample(t)
	if _, err := exec.LookPath("capinfos"); err == nil {
		out, err := exec.Command("capinfos", "-c", "-M", path).CombinedOutput()
		if err != nil {
			t.Fatalf("capinfos rejects the file: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "Number of packets:   "+strconv.Itoa(len(want))) &&
			!strings.Contains(string(out), "Number of packets = "+strconv.Itoa(len(want))) {
			t.Errorf("capinfos counts differently:\n%s", out)
		}
	} else {
		t.Log("capinfos not installed; skipping its check")
	}
	if _, err := exec.LookPath("tshark"); err != nil {
		t.Skip("tshark not installed")
	}
	out, err := exec.Command("tshark", "-r", path, "-T", "fields", "-e", "frame.time_epoch", "-e", "frame.len", "-e", "frame.cap_len").Output()
	if err != nil {
		t.Fatalf("tshark rejects the file: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(want) {
		t.Fatalf("tshark reads %d frames, want %d:\n%s", len(lines), len(want), out)
	}
	for i, line := range lines {
		w := want[i]
		wantLine := fmt.Sprintf("%d.%09d\t%d\t%d", w.Time/1e9, w.Time%1e9, w.OriginalLength, w.CaptureLength)
		if line != wantLine {
			t.Errorf("tshark frame %d: %q, want %q", i+1, line, wantLine)
		}
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(b []byte) (int, error) {
	if f.after -= len(b); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(b), nil
}

func TestWriteErrors(t *testing.T) {
	w, err := NewWriter(&failingWriter{after: 100}, "x", Interface{LinkType: capture.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err) // headers are still buffered
	}
	pkts := samplePackets()
	var werr error
	for i := 0; i < 100 && werr == nil; i++ {
		werr = w.WritePacket(&pkts[4])
		if werr == nil {
			werr = w.Flush()
		}
	}
	if werr == nil || !strings.Contains(werr.Error(), "disk full") {
		t.Fatalf("got %v, want the underlying write error", werr)
	}
	if err := w.WritePacket(&pkts[0]); err == nil {
		t.Error("a write after a failure succeeded")
	}
	w2, _ := NewWriter(io.Discard, "", Interface{LinkType: capture.LinkTypeEthernet})
	p := pkts[0]
	p.LinkType = capture.LinkTypeRaw
	if err := w2.WritePacket(&p); err == nil {
		t.Error("a frame of another link type was accepted")
	}
	if _, err := NewWriter(io.Discard, "", Interface{Snaplen: -1}); err == nil {
		t.Error("negative snap length accepted")
	}
	if _, err := Create(filepath.Join(t.TempDir(), "no", "such", "dir.pcapng"), "", Interface{}); err == nil {
		t.Error("Create in a missing directory succeeded")
	}
}

func BenchmarkWritePacket(b *testing.B) {
	w, err := NewWriter(io.Discard, "", Interface{LinkType: capture.LinkTypeEthernet})
	if err != nil {
		b.Fatal(err)
	}
	p := samplePackets()[4]
	b.SetBytes(int64(len(p.Data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WritePacket(&p); err != nil {
			b.Fatal(err)
		}
	}
}
