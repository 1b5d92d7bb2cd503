package capture_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

var updateBad = flag.Bool("update-bad", false, "rewrite testdata/bad (the corrupt-input corpus) and its README from badCases")

// badDir is the corrupt-input corpus, shared with other packages' tests.
var badDir = filepath.Join("..", "testdata", "bad")

// badCase is one damaged or odd capture and what reading it must give.
type badCase struct {
	file string
	// expect says in words what happens; it goes into testdata/bad/README.md.
	expect string
	build  func() []byte
	// openErr / readErr: the exact error text, with FILE for the path; ""
	// when there must be none.
	openErr, readErr string
	packets          int            // packets Next returns before the end or the error
	segments         int            // of those, packets the Decoder turns into TCP segments
	skips            map[string]int // skip reason -> count
	warnings         map[string]int // warning kind -> count
	check            func(*testing.T, []capture.Packet, []capture.Segment)
}

var (
	badCli = netip.MustParseAddrPort("10.1.1.1:40000")
	badSrv = netip.MustParseAddrPort("10.2.2.2:80")
)

// goodFrame is an Ethernet/IPv4/TCP frame with an n-byte payload.
func goodFrame(seq uint32, n int) []byte {
	s := ct.TCP{Src: badCli, Dst: badSrv, Seq: seq, Ack: 1, Flags: capture.FlagACK, Window: 100, IPID: uint16(seq), Payload: bytes.Repeat([]byte{'x'}, n)}
	return ct.Ethernet(s.IP())
}

const badT0 = int64(1_700_000_000_000_000_000)

// pcapWith writes a pcap file with n good 100-byte-payload packets, then
// calls more to add whatever is broken.
func pcapWith(n int, o ct.PcapOptions, more func(*ct.Pcap)) []byte {
	var b bytes.Buffer
	w := ct.NewPcap(&b, capture.LinkTypeEthernet, o)
	for i := range n {
		w.Write(badT0+int64(i)*1e6, goodFrame(uint32(1+100*i), 100))
	}
	if more != nil {
		more(w)
	}
	return b.Bytes()
}

func pcapngWith(n int, more func(*ct.Pcapng)) []byte {
	var b bytes.Buffer
	w := ct.NewPcapng(&b)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet, TSResol: 9})
	for i := range n {
		f := goodFrame(uint32(1+100*i), 100)
		w.EPB(0, uint64(badT0+int64(i)*1e6), f, len(f))
	}
	if more != nil {
		more(w)
	}
	return b.Bytes()
}

// Each good packet record: 16-byte header + 14 Ethernet + 20 IP + 20 TCP + 100.
const goodRecordLen = 16 + 154

// Each good EPB: 28 bytes before the data, 154 data padded to 156, 4 trailer.
const goodEPBLen = 28 + 156 + 4

// The first EPB follows the section header (28 bytes) and the interface
// description (20 bytes, plus an if_tsresol option of 8 and an end of 4).
const firstEPBOffset = 28 + 32

func badCases() []badCase {
	return []badCase{
		{
			file: "not-a-capture.txt", expect: "Open fails: unknown magic number.",
			build:   func() []byte { return []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n") },
			openErr: "FILE: at byte offset 0: not a pcap or pcapng capture: unknown magic number 47 45 54 20",
		},
		{
			file: "empty.pcap", expect: "Open fails: the input is empty.",
			build:   func() []byte { return nil },
			openErr: "FILE: at byte offset 0: not a pcap or pcapng capture: the input is empty",
		},
		{
			file: "truncated-file-header.pcap", expect: "Open fails: the 24-byte file header is cut after 10 bytes.",
			build:   func() []byte { return pcapWith(0, ct.PcapOptions{}, nil)[:10] },
			openErr: "FILE: at byte offset 0: capture file cut short: the pcap file header needs 24 bytes, only 10 remain",
		},
		{
			file: "bad-version.pcap", expect: "Open fails: pcap version 1.4 does not exist (libpcap and Wireshark refuse it too).",
			build:   func() []byte { return pcapWith(2, ct.PcapOptions{Major: 1, Minor: 4}, nil) },
			openErr: "FILE: at byte offset 4: unsupported capture format version: pcap version 1.4 (only 2.x exists)",
		},
		{
			file: "truncated-record-header.pcap", expect: "3 packets, then an error naming frame 4: its record header is cut after 7 bytes.",
			build: func() []byte {
				return pcapWith(3, ct.PcapOptions{}, func(w *ct.Pcap) { w.WriteRaw(make([]byte, 7)) })
			},
			readErr: fmt.Sprintf("FILE: frame 4 at byte offset %d: capture file cut short: the record header needs 16 bytes, only 7 remain", 24+3*goodRecordLen),
			packets: 3, segments: 3,
		},
		{
			file: "truncated-record-data.pcap", expect: "3 packets, then an error naming frame 4: its record promises 154 bytes, 40 remain.",
			build: func() []byte {
				return pcapWith(3, ct.PcapOptions{}, func(w *ct.Pcap) {
					w.WriteHeader(badT0+5e9, 154, 154)
					w.WriteRaw(goodFrame(999, 100)[:40])
				})
			},
			readErr: fmt.Sprintf("FILE: frame 4 at byte offset %d: capture file cut short: the record needs 170 bytes, only 56 remain", 24+3*goodRecordLen),
			packets: 3, segments: 3,
		},
		{
			file: "absurd-record-length.pcap", expect: "2 packets, then an error naming frame 3: a captured length of 4294967280 is refused before anything is allocated. (tshark 4.0 instead guesses from this record that the file is Nokia-variant pcap and misreads every record.)",
			build: func() []byte {
				return pcapWith(2, ct.PcapOptions{}, func(w *ct.Pcap) {
					w.WriteHeader(badT0+5e9, 0xfffffff0, 0xfffffff0)
					w.WriteRaw(make([]byte, 64))
				})
			},
			readErr: fmt.Sprintf("FILE: frame 3 at byte offset %d: length exceeds limit: record claims 4294967280 captured bytes (limit 262144)", 24+2*goodRecordLen),
			packets: 2, segments: 2,
		},
		{
			file: "snaplen-zero.pcap", expect: "All 3 packets read; warning snaplen_zero (the header declares snap length 0).",
			build:   func() []byte { return pcapWith(3, ct.PcapOptions{RawSnaplen: true}, nil) },
			packets: 3, segments: 3,
			warnings: map[string]int{"snaplen_zero": 1},
		},
		{
			file: "zero-length-packets.pcap", expect: "4 packets read: the 2 zero-length records are packets (they keep their frame numbers) that decode as malformed.",
			build: func() []byte {
				return pcapWith(1, ct.PcapOptions{}, func(w *ct.Pcap) {
					w.Write(badT0+1e9, nil)
					w.WriteRecord(badT0+2e9, nil, 0)
					w.Write(badT0+3e9, goodFrame(5000, 10))
				})
			},
			packets: 4, segments: 2, skips: map[string]int{"malformed": 2},
			check: func(t *testing.T, p []capture.Packet, s []capture.Segment) {
				if s[1].Frame != 4 {
					t.Errorf("the packet after the empty ones is frame %d, want 4", s[1].Frame)
				}
			},
		},
		{
			file: "time-backwards.pcap", expect: "All 4 packets read, each with its own time; warning time_backwards for frames 3 and 4.",
			build: func() []byte {
				return pcapWith(2, ct.PcapOptions{}, func(w *ct.Pcap) {
					w.Write(badT0-10e9, goodFrame(9000, 10))
					w.Write(badT0-20e9, goodFrame(9010, 10))
				})
			},
			packets: 4, segments: 4, warnings: map[string]int{"time_backwards": 2},
			check: func(t *testing.T, p []capture.Packet, s []capture.Segment) {
				if p[3].Time != badT0-20e9 {
					t.Errorf("time %d", p[3].Time)
				}
			},
		},
		{
			file: "caplen-over-snaplen.pcap", expect: "All 3 packets read whole (as Wireshark does); warning caplen_over_snaplen for each.",
			build:   func() []byte { return pcapWith(3, ct.PcapOptions{Snaplen: 100}, nil) },
			packets: 3, segments: 3, warnings: map[string]int{"caplen_over_snaplen": 3},
		},
		{
			file: "caplen-over-original-length.pcap", expect: "Both packets read; the one claiming to have captured more than was on the wire gets warning caplen_over_original_length and its original length raised.",
			build: func() []byte {
				return pcapWith(1, ct.PcapOptions{}, func(w *ct.Pcap) {
					f := goodFrame(7000, 100)
					w.WriteRecord(badT0+1e9, f, 60)
				})
			},
			packets: 2, segments: 2, warnings: map[string]int{"caplen_over_original_length": 1},
		},
		{
			file: "unknown-linktype.pcap", expect: "All 3 packets read; none decoded: skipped as unknown_link_type (LINKTYPE 147, a user type).",
			build: func() []byte {
				var b bytes.Buffer
				w := ct.NewPcap(&b, 147, ct.PcapOptions{})
				for i := range 3 {
					w.Write(badT0+int64(i), goodFrame(uint32(i), 10))
				}
				return b.Bytes()
			},
			packets: 3, skips: map[string]int{"unknown_link_type": 3},
		},
		{
			file: "ip-fragments.pcap", expect: "3 packets: a TCP segment split in two IPv4 fragments (reassembled: one segment, in frame 2, whose fragment completed it), then the same segment whole.",
			build: func() []byte {
				ip := ct.TCP{Src: badCli, Dst: badSrv, Seq: 1, Flags: capture.FlagACK, IPID: 77, Payload: make([]byte, 64)}.IP()
				first := bytes.Clone(ip[:20+40])
				first[2], first[3] = 0, 60
				first[6] = 0x20 // more fragments
				second := append(bytes.Clone(ip[:20]), ip[60:]...)
				second[2], second[3] = 0, byte(20+len(ip)-60)
				second[7] = 5 // offset 40 bytes
				var b bytes.Buffer
				w := ct.NewPcap(&b, capture.LinkTypeRaw, ct.PcapOptions{})
				w.Write(badT0, first)
				w.Write(badT0+1, second)
				w.Write(badT0+2, ip)
				return b.Bytes()
			},
			packets: 3, segments: 2, skips: map[string]int{},
		},
		{
			file: "snaplen-cut.pcap", expect: "4 packets with snap length 64: 3 TCP segments whose payload was cut (PayloadLength from the IP header, Payload shorter), and one cut inside the IP header (skipped as truncated).",
			build: func() []byte {
				var b bytes.Buffer
				w := ct.NewPcap(&b, capture.LinkTypeEthernet, ct.PcapOptions{Snaplen: 64})
				for i := range 3 {
					f := goodFrame(uint32(1+1000*i), 1000)
					w.WriteRecord(badT0+int64(i), f[:64], len(f))
				}
				f := goodFrame(5000, 10)
				w.WriteRecord(badT0+9, f[:20], len(f))
				return b.Bytes()
			},
			packets: 4, segments: 3, skips: map[string]int{"truncated": 1},
			check: func(t *testing.T, p []capture.Packet, s []capture.Segment) {
				for _, x := range s {
					if x.PayloadLength != 1000 || len(x.Payload) != 10 {
						t.Errorf("frame %d: payload %d of %d", x.Frame, len(x.Payload), x.PayloadLength)
					}
				}
			},
		},
		{
			file: "capture-duplicates.pcap", expect: "6 packets: every frame recorded twice 1 µs apart, as a capture on two interfaces does. The reader and decoder return both copies; identical IP ID and TCP checksum let reassembly recognise the copy.",
			build: func() []byte {
				var b bytes.Buffer
				w := ct.NewPcap(&b, capture.LinkTypeEthernet, ct.PcapOptions{})
				for i := range 3 {
					f := goodFrame(uint32(1+100*i), 100)
					w.Write(badT0+int64(i)*1e6, f)
					w.Write(badT0+int64(i)*1e6+1000, f)
				}
				return b.Bytes()
			},
			packets: 6, segments: 6,
			check: func(t *testing.T, p []capture.Packet, s []capture.Segment) {
				for i := 0; i < 6; i += 2 {
					a, c := s[i], s[i+1]
					if a.IPID != c.IPID || a.TCPChecksum != c.TCPChecksum || a.Seq != c.Seq || c.Time-a.Time != 1000 {
						t.Errorf("frames %d and %d are not the same segment", a.Frame, c.Frame)
					}
				}
			},
		},
		{
			file: "pcapng-bad-byte-order-mark.pcapng", expect: "Open fails: the section header's byte-order mark is neither 1a2b3c4d nor its reverse.",
			build: func() []byte {
				b := pcapngWith(1, nil)
				b[8] = 0x99
				return b
			},
			openErr: "FILE: at byte offset 0: corrupt capture: section header block byte-order mark 99 3c 2b 1a",
		},
		{
			file: "pcapng-version-2.pcapng", expect: "Open fails: pcapng major version 2 does not exist.",
			build: func() []byte {
				b := pcapngWith(1, nil)
				b[12] = 2
				return b
			},
			openErr: "FILE: at byte offset 12: unsupported capture format version: pcapng version 2.0 (only 1.x exists)",
		},
		{
			file: "pcapng-truncated-block.pcapng", expect: "2 packets, then an error naming frame 3: its enhanced packet block is cut after 100 of 188 bytes.",
			build: func() []byte {
				b := pcapngWith(3, nil)
				return b[:len(b)-goodEPBLen+100]
			},
			readErr: fmt.Sprintf("FILE: frame 3 at byte offset %d: capture file cut short: the enhanced packet block needs 188 bytes, only 100 remain", firstEPBOffset+2*goodEPBLen),
			packets: 2, segments: 2,
		},
		{
			file: "pcapng-block-length-mismatch.pcapng", expect: "1 packet, then an error naming frame 2: its block's trailing length differs from the leading one.",
			build: func() []byte {
				b := pcapngWith(2, nil)
				b[len(b)-4] ^= 0x40
				return b
			},
			readErr: fmt.Sprintf("FILE: frame 2 at byte offset %d: corrupt capture: enhanced packet block length 188 at its start but 252 at its end", firstEPBOffset+goodEPBLen),
			packets: 1, segments: 1,
		},
		{
			file: "pcapng-absurd-block-length.pcapng", expect: "1 packet, then an error naming frame 2: a block length of 2147483632 is refused (limit 16 MiB) before anything is allocated.",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) { w.BlockRaw(ct.BlockEPB, 0x7ffffff0, make([]byte, 40), 0) })
			},
			readErr: fmt.Sprintf("FILE: frame 2 at byte offset %d: length exceeds limit: enhanced packet block length 2147483632 (limit 16777216)", firstEPBOffset+goodEPBLen),
			packets: 1, segments: 1,
		},
		{
			file: "pcapng-block-length-not-multiple-of-4.pcapng", expect: "1 packet, then an error naming frame 2: a block length of 190 is not a multiple of 4.",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) { w.BlockRaw(ct.BlockEPB, 190, make([]byte, 180), 190) })
			},
			readErr: fmt.Sprintf("FILE: frame 2 at byte offset %d: corrupt capture: enhanced packet block length 190 is not a multiple of 4", firstEPBOffset+goodEPBLen),
			packets: 1, segments: 1,
		},
		{
			file: "pcapng-unknown-interface.pcapng", expect: "1 packet, then an error naming frame 2: its block names interface 5 but the section defines only interface 0 (Wireshark stops here too).",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) { w.EPB(5, 1, goodFrame(1, 10), 64) })
			},
			readErr: fmt.Sprintf("FILE: frame 2 at byte offset %d: corrupt capture: enhanced packet block names interface 5, but the section defines 1", firstEPBOffset+goodEPBLen),
			packets: 1, segments: 1,
		},
		{
			file: "pcapng-caplen-beyond-block.pcapng", expect: "1 packet, then an error naming frame 2: its captured length (1000) does not fit in its block.",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) {
					body := make([]byte, 20+64)
					w.Order().PutUint32(body[12:], 1000)
					w.Order().PutUint32(body[16:], 1000)
					w.Block(ct.BlockEPB, body)
				})
			},
			readErr: fmt.Sprintf("FILE: frame 2 at byte offset %d: corrupt capture: enhanced packet block claims 1000 captured bytes but has room for 64", firstEPBOffset+goodEPBLen),
			packets: 1, segments: 1,
		},
		{
			file: "pcapng-unknown-link-type.pcapng", expect: "3 packets: interface 0 is Ethernet, interface 1 has link type 65000; its packets are read and skipped as unknown_link_type, not fatal.",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) {
					w.Interface(ct.Interface{LinkType: 65000})
					w.EPB(1, uint64(badT0/1000+5e6), goodFrame(1, 10), 64) // µs
					w.EPB(1, uint64(badT0/1000+6e6), goodFrame(1, 10), 64)
				})
			},
			packets: 3, segments: 1, skips: map[string]int{"unknown_link_type": 2},
		},
		{
			file: "pcapng-timestamp-out-of-range.pcapng", expect: "3 packets: the second is stamped 2^63 ns, past 2262, which 64-bit nanoseconds since 1970 cannot hold; it gets warning timestamp_out_of_range and the first packet's time instead of one that wrapped round.",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) {
					f := goodFrame(101, 100)
					w.EPB(0, 1<<63, f, len(f))
					f = goodFrame(201, 100)
					w.EPB(0, uint64(badT0+2e6), f, len(f))
				})
			},
			packets: 3, segments: 3, warnings: map[string]int{"timestamp_out_of_range": 1},
			check: func(t *testing.T, p []capture.Packet, _ []capture.Segment) {
				if p[1].Time != p[0].Time || p[2].Time != badT0+2e6 {
					t.Errorf("times %d %d %d, want the first twice, then %d", p[0].Time, p[1].Time, p[2].Time, badT0+2e6)
				}
			},
		},
		{
			file: "pcapng-damaged-statistics-block.pcapng", expect: "1 packet, then an error naming the interface statistics block after it and its byte offset, but no frame: Wireshark numbers none for such a block.",
			build: func() []byte {
				return pcapngWith(1, func(w *ct.Pcapng) {
					w.BlockRaw(ct.BlockISB, 16, []byte{0, 0, 0, 0}, 20)
					f := goodFrame(101, 100)
					w.EPB(0, uint64(badT0+1e6), f, len(f))
				})
			},
			readErr: fmt.Sprintf("FILE: at byte offset %d: corrupt capture: interface statistics block length 16 at its start but 20 at its end", firstEPBOffset+goodEPBLen),
			packets: 1, segments: 1,
		},
		{
			file: "gzip-truncated.pcap.gz", expect: "A gzip stream cut in the middle: the packets decompressed before the cut, then an error naming the frame being read.",
			build: func() []byte {
				z := gzipped(nil, pcapWith(200, ct.PcapOptions{}, nil))
				return z[:len(z)/2]
			},
			readErr: "", // set from the committed file: see TestBadCorpus
		},
		{
			file: "gzip-corrupt.pcap.gz", expect: "A gzip stream with damaged compressed bytes: the packets before the damage, then an error naming the frame being read and the decompressor's complaint.",
			build: func() []byte {
				z := gzipped(nil, pcapWith(200, ct.PcapOptions{}, nil))
				for i := len(z) / 2; i < len(z)/2+16; i++ {
					z[i] ^= 0x5a
				}
				return z
			},
		},
	}
}

// TestBadCorpus reads every file of testdata/bad and checks the error,
// packets, segments, skips and warnings its badCase expects.
func TestBadCorpus(t *testing.T) {
	cases := badCases()
	if *updateBad {
		writeBadCorpus(t, cases)
	}
	for _, bc := range cases {
		t.Run(bc.file, func(t *testing.T) {
			path := filepath.Join(badDir, bc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./capture -run TestBadCorpus -update-bad)", err)
			}
			// gzip output may change with the Go version, so compressed
			// files are kept as committed and not compared with the builder.
			if !strings.HasSuffix(bc.file, ".gz") && !bytes.Equal(data, bc.build()) {
				t.Fatalf("%s differs from what its builder writes; run with -update-bad", path)
			}
			fill := func(s string) string { return strings.ReplaceAll(s, "FILE", path) }

			r, err := capture.Open(path)
			if bc.openErr != "" {
				var ce *capture.Error
				if err == nil || !errors.As(err, &ce) || err.Error() != fill(bc.openErr) {
					t.Fatalf("Open error:\n got %v\nwant %s", err, fill(bc.openErr))
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.Close()
			pkts, readErr := readAll(t, r)
			d := capture.NewDecoder()
			var segs []capture.Segment
			for i := range pkts {
				var s capture.Segment
				if d.Decode(&pkts[i], &s) == capture.SkipNone {
					segs = append(segs, s)
				}
			}

			// In memory the Reader sizes its buffer to the input; the
			// result must be the same as with a file's full-size buffer.
			if mr, merr := capture.NewReader(bytes.NewReader(data), path); merr != nil {
				t.Errorf("NewReader failed where Open did not: %v", merr)
			} else if mpkts, mErr := readAll(t, mr); len(mpkts) != len(pkts) || fmt.Sprint(mErr) != fmt.Sprint(readErr) {
				t.Errorf("in memory: %d packets, error %v; from the file: %d, %v", len(mpkts), mErr, len(pkts), readErr)
			}

			if strings.HasSuffix(bc.file, ".gz") {
				checkGzipDamage(t, path, pkts, readErr)
				return
			}
			if bc.readErr == "" && readErr != nil {
				t.Fatalf("unexpected read error %v", readErr)
			}
			if bc.readErr != "" {
				var ce *capture.Error
				if readErr == nil || !errors.As(readErr, &ce) || readErr.Error() != fill(bc.readErr) {
					t.Fatalf("read error:\n got %v\nwant %s", readErr, fill(bc.readErr))
				}
				// The damaged record is the next frame, unless the damage is
				// in a block that takes no frame number (the text names none).
				wantFrame := uint64(len(pkts) + 1)
				if strings.HasPrefix(bc.readErr, "FILE: at ") {
					wantFrame = 0
				}
				if ce.Frame != wantFrame {
					t.Errorf("error names frame %d after %d packets, want %d", ce.Frame, len(pkts), wantFrame)
				}
			}
			if len(pkts) != bc.packets || len(segs) != bc.segments {
				t.Errorf("%d packets, %d segments; want %d, %d", len(pkts), len(segs), bc.packets, bc.segments)
			}
			st := d.Stats()
			gotSkips := map[string]int{}
			for _, reason := range capture.SkipReasons() {
				if n := st.Skipped[reason]; n > 0 {
					gotSkips[reason.String()] = int(n)
				}
			}
			if fmt.Sprint(gotSkips) != fmt.Sprint(nonNil(bc.skips)) {
				t.Errorf("skips %v, want %v", gotSkips, bc.skips)
			}
			gotWarn := map[string]int{}
			for _, w := range r.Warnings() {
				gotWarn[string(w.Kind)]++
				if w.File != path {
					t.Errorf("warning names file %q", w.File)
				}
			}
			if fmt.Sprint(gotWarn) != fmt.Sprint(nonNil(bc.warnings)) {
				t.Errorf("warnings %v, want %v", r.Warnings(), bc.warnings)
			}
			if bc.check != nil {
				bc.check(t, pkts, segs)
			}
		})
	}
}

// checkGzipDamage: where a damaged gzip stream fails depends on the
// compressor's output, so rather than a fixed text the test checks the
// shape: some packets, then an *Error naming the file and the next frame.
func checkGzipDamage(t *testing.T, path string, pkts []capture.Packet, err error) {
	t.Helper()
	var ce *capture.Error
	if !errors.As(err, &ce) {
		t.Fatalf("read error %v, want a *capture.Error", err)
	}
	if len(pkts) == 0 || len(pkts) >= 200 {
		t.Errorf("%d packets before the damage, want some but not all 200", len(pkts))
	}
	if !ce.Compressed || !strings.Contains(err.Error(), "of the decompressed data") {
		t.Errorf("error %v does not say its offset counts decompressed bytes", err)
	}
	if ce.File != path || ce.Frame != uint64(len(pkts)+1) || ce.Offset != int64(24+len(pkts)*goodRecordLen) {
		t.Errorf("error %v: want file %s, frame %d, offset %d", err, path, len(pkts)+1, 24+len(pkts)*goodRecordLen)
	}
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

func writeBadCorpus(t *testing.T, cases []badCase) {
	if err := os.MkdirAll(badDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, bc := range cases {
		path := filepath.Join(badDir, bc.file)
		if strings.HasSuffix(bc.file, ".gz") {
			if _, err := os.Stat(path); err == nil {
				continue // keep the committed bytes (see TestBadCorpus)
			}
		}
		if err := os.WriteFile(path, bc.build(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(badDir, "README.md"), []byte(badReadme(cases)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func badReadme(cases []badCase) string {
	var b strings.Builder
	b.WriteString(`# Corrupt and odd captures

Each file here is damaged or unusual on purpose. The table says what reading
it must give; TestBadCorpus in capture/badcorpus_test.go checks exactly that
(error text, frame and byte offset, packets read before the error, skips and
warnings). The files and this README are written by:

    go test ./capture -run TestBadCorpus -update-bad

In every case the reader returns the packets before the damage, then an error
(a *capture.Error naming file, frame and byte offset), and never panics.

| file | what happens |
|---|---|
`)
	sorted := append([]badCase(nil), cases...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].file < sorted[j].file })
	for _, c := range sorted {
		fmt.Fprintf(&b, "| `%s` | %s |\n", c.file, c.expect)
	}
	return b.String()
}

func TestBadCorpusReadme(t *testing.T) {
	got, err := os.ReadFile(filepath.Join(badDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != badReadme(badCases()) {
		t.Error("testdata/bad/README.md is out of date; run go test ./capture -run TestBadCorpus -update-bad")
	}
}
