package capture_test

import (
	"bufio"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/internal/sharedpcaps"
)

// sharedPcapDir returns the folder of public captures recorded by others,
// or skips the test when it is absent (users who clone the project do not
// have it).
func sharedPcapDir(t testing.TB) string {
	t.Helper()
	dir := sharedpcaps.Dir()
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared captures not available (%v); set CONNSCOPE_SHARED_PCAPS", err)
	}
	return dir
}

type tsharkExpect struct {
	file            string
	frames, tcp     string // numbers, or "error" / "-"
	firstNS, lastNS string
}

// readExpectations reads testdata/shared-pcaps.tsv, written by
// testdata/gen-expect.sh from tshark's view of each capture.
func readExpectations(t *testing.T) []tsharkExpect {
	f, err := os.Open(filepath.Join("testdata", "shared-pcaps.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []tsharkExpect
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		c := strings.Split(sc.Text(), "\t")
		if len(c) != 5 {
			t.Fatalf("shared-pcaps.tsv: bad line %q", sc.Text())
		}
		if c[0] == "file" {
			continue
		}
		out = append(out, tsharkExpect{c[0], c[1], c[2], c[3], c[4]})
	}
	return out
}

// TestSharedPcaps reads every public capture and compares frame count, TCP
// segment count and first/last timestamps with what tshark saw.
func TestSharedPcaps(t *testing.T) {
	dir := sharedPcapDir(t)
	exp := readExpectations(t)
	if len(exp) < 50 {
		t.Fatalf("only %d expectations; regenerate testdata/shared-pcaps.tsv", len(exp))
	}
	for _, e := range exp {
		t.Run(e.file, func(t *testing.T) {
			path := filepath.Join(dir, e.file)
			if _, err := os.Stat(path); err != nil {
				t.Skip(err)
			}
			r, err := capture.Open(path)
			if e.frames == "error" {
				if err == nil {
					r.Close()
					t.Fatal("tshark cannot read this file, but Open accepted it")
				}
				var ce *capture.Error
				if !errors.As(err, &ce) || ce.File != path {
					t.Fatalf("error %v is not a *capture.Error naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			d := capture.NewDecoder()
			var (
				seg         capture.Segment
				first, last int64
				packets     int
				readErr     error
			)
			for {
				p, err := r.Next()
				if err != nil {
					if err != io.EOF {
						readErr = err
					}
					break
				}
				if packets == 0 {
					first = p.Time
				}
				last = p.Time
				packets++
				d.Decode(p, &seg)
			}
			if readErr != nil {
				var ce *capture.Error
				if !errors.As(readErr, &ce) || !errors.Is(readErr, capture.ErrTruncated) {
					t.Errorf("read error %v: want a *capture.Error for a file cut short", readErr)
				} else if ce.Frame != r.Frames()+1 {
					t.Errorf("error names frame %d, want %d (the one after the last read)", ce.Frame, r.Frames()+1)
				}
			}
			st := d.Stats()
			check := func(what string, got int64, want string) {
				t.Helper()
				w, err := strconv.ParseInt(want, 10, 64)
				if err != nil {
					t.Fatalf("%s: bad expectation %q", what, want)
				}
				if got != w {
					t.Errorf("%s = %d, tshark says %d", what, got, w)
				}
			}
			check("frames", int64(r.Frames()), e.frames)
			check("tcp segments", int64(st.TCPSegments), e.tcp)
			check("packets", int64(st.Packets), strconv.Itoa(packets))
			if e.firstNS != "-" {
				check("first time", first, e.firstNS)
				check("last time", last, e.lastNS)
			}
		})
	}
}

// TestRealDamagedCaptures pins the errors for the two damaged captures
// among the public ones: a pcap header with version 1.4, and a file cut
// one byte into a record header.
func TestRealDamagedCaptures(t *testing.T) {
	dir := sharedPcapDir(t)

	path := filepath.Join(dir, "libpcap__pcap-invalid-version-1.pcap")
	_, err := capture.Open(path)
	if want := path + ": at byte offset 4: unsupported capture format version: pcap version 1.4 (only 2.x exists)"; err == nil || err.Error() != want {
		t.Errorf("Open error:\n got %v\nwant %s", err, want)
	}
	if !errors.Is(err, capture.ErrUnsupportedVersion) {
		t.Errorf("%v does not wrap ErrUnsupportedVersion", err)
	}

	path = filepath.Join(dir, "suricata-verify__http-mime-truncated__input.pcap")
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	pkts, err := readAll(t, r)
	if want := path + ": frame 2697 at byte offset 2715459: capture file cut short: the record header needs 16 bytes, only 1 remain"; err == nil || err.Error() != want {
		t.Errorf("read error:\n got %v\nwant %s", err, want)
	}
	if len(pkts) != 2696 {
		t.Errorf("%d packets before the damage, want 2696 (as tshark)", len(pkts))
	}
}
