package capture_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	ct "github.com/connscope/connscope/capture/capturetest"
)

// readAll reads every packet, copying what the Reader reuses.
func readAll(t testing.TB, r *capture.Reader) ([]capture.Packet, error) {
	t.Helper()
	var out []capture.Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if _, again := r.Next(); again != io.EOF {
				t.Errorf("Next after a damage error returned %v, want io.EOF", again)
			}
			return out, err
		}
		q := *p
		q.Data = bytes.Clone(p.Data)
		out = append(out, q)
	}
}

func mustRead(t testing.TB, data []byte) (*capture.Reader, []capture.Packet) {
	t.Helper()
	r, err := capture.NewReader(bytes.NewReader(data), "test")
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	return r, pkts
}

func frameBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + n)
	}
	return b
}

func TestClassicPcapVariants(t *testing.T) {
	const t0 = int64(1_600_000_000_123_456_789)
	for _, tc := range []struct {
		desc       string
		big, nano  bool
		modified   bool // Kuznetsov's modified pcap: 24-byte record headers
		wantFormat string
		wantT0     int64
	}{
		{"little-endian microseconds", false, false, false, "pcap", t0 - 789},
		{"big-endian microseconds", true, false, false, "pcap", t0 - 789},
		{"little-endian nanoseconds", false, true, false, "pcap-ns", t0},
		{"big-endian nanoseconds", true, true, false, "pcap-ns", t0},
		{"little-endian modified", false, false, true, "pcap-modified", t0 - 789},
		{"big-endian modified", true, false, true, "pcap-modified", t0 - 789},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			var buf bytes.Buffer
			w := ct.NewPcap(&buf, capture.LinkTypeLinuxSLL2, ct.PcapOptions{BigEndian: tc.big, Nanosecond: tc.nano, Modified: tc.modified, Snaplen: 100})
			// The modified header's extra fields, which must not be read as data.
			w.Fields = ct.ModifiedFields{IfIndex: 0xdeadbeef, Protocol: 0x0800, PktType: 4}
			recordHeaderLen := int64(16)
			if tc.modified {
				recordHeaderLen = 24
			}
			w.Write(t0, frameBytes(60))
			w.WriteRecord(t0+2_000_000_000, frameBytes(100), 1514) // cut by the snap length
			w.Write(t0+3_000_000_000, nil)                         // zero-length record
			r, pkts := mustRead(t, buf.Bytes())
			if r.Format() != tc.wantFormat {
				t.Errorf("Format = %q, want %q", r.Format(), tc.wantFormat)
			}
			if len(pkts) != 3 || r.Frames() != 3 {
				t.Fatalf("read %d packets (Frames %d), want 3", len(pkts), r.Frames())
			}
			for i, p := range pkts {
				if p.Frame != uint64(i+1) || p.LinkType != capture.LinkTypeLinuxSLL2 || p.Interface != 0 {
					t.Errorf("packet %d: frame %d link %v interface %d", i, p.Frame, p.LinkType, p.Interface)
				}
			}
			if pkts[0].Time != tc.wantT0 || pkts[1].Time != tc.wantT0+2e9 {
				t.Errorf("times %d, %d; want %d, %d", pkts[0].Time, pkts[1].Time, tc.wantT0, tc.wantT0+2e9)
			}
			if !bytes.Equal(pkts[0].Data, frameBytes(60)) || pkts[0].CaptureLength != 60 || pkts[0].OriginalLength != 60 {
				t.Errorf("packet 1: %d/%d bytes, data ok %v", pkts[0].CaptureLength, pkts[0].OriginalLength, bytes.Equal(pkts[0].Data, frameBytes(60)))
			}
			if pkts[1].CaptureLength != 100 || pkts[1].OriginalLength != 1514 || len(pkts[1].Data) != 100 {
				t.Errorf("cut packet: capture %d original %d len %d", pkts[1].CaptureLength, pkts[1].OriginalLength, len(pkts[1].Data))
			}
			if pkts[2].CaptureLength != 0 || len(pkts[2].Data) != 0 {
				t.Errorf("zero-length packet has %d bytes", len(pkts[2].Data))
			}
			if pkts[0].Offset != 24 || pkts[1].Offset != 24+recordHeaderLen+60 {
				t.Errorf("offsets %d, %d; want 24, %d", pkts[0].Offset, pkts[1].Offset, 24+recordHeaderLen+60)
			}
			if r.WarningCount() != 0 {
				t.Errorf("unexpected warnings %v", r.Warnings())
			}
		})
	}
}

// TestPcapngSectionsAndInterfaces covers several sections in both byte
// orders, interfaces with their own link types and timestamp units, and
// every packet block type, with non-packet blocks in between.
func TestPcapngSectionsAndInterfaces(t *testing.T) {
	var buf bytes.Buffer
	w := ct.NewPcapng(&buf)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})                                // 0: µs
	w.Interface(ct.Interface{LinkType: capture.LinkTypeNull, TSResol: 9})                        // 1: ns
	w.Interface(ct.Interface{LinkType: capture.LinkTypeRaw, TSResol: 0x80 | 20, TSOffset: 1000}) // 2: 2^-20 s, +1000 s
	w.Interface(ct.Interface{LinkType: capture.LinkTypeIPv6, TSResol: 12})                       // 3: ps
	w.Interface(ct.Interface{LinkType: capture.LinkTypeLinuxSLL, Snaplen: 64, TSResol: 3})       // 4: ms, snaplen 64
	w.EPB(0, 1_500_000_000_250_000, frameBytes(70), 70)                                          // frame 1
	w.Block(ct.BlockNRB, []byte{0, 0, 0, 0})                                                     // no frame
	w.EPB(1, 1_500_000_000_000_000_001, frameBytes(10), 40)                                      // frame 2
	w.Block(ct.BlockISB, make([]byte, 12))                                                       // no frame
	w.EPB(2, 3<<20|1<<19, frameBytes(20), 20)                                                    // frame 3: 3.5 s + 1000 s
	w.Block(ct.BlockCustom, make([]byte, 8))                                                     // frame 4, not a packet
	w.EPB(3, 1_000_000_000_000_123, frameBytes(30), 30)                                          // frame 5
	w.PB(0, 1_500_000_001_000_000, frameBytes(33), 33)                                           // frame 6
	w.SPB(frameBytes(80), 100)                                                                   // frame 7: interface 0, whole
	w.Section(true)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeLinuxSLL2, TSResol: 3})
	w.EPB(0, 1_500_000_002_000, frameBytes(44), 44) // frame 8: ms, big-endian section
	w.Block(ct.BlockDSB, make([]byte, 8))
	w.Block(ct.BlockJournal, []byte("MESSAGE=x\n")) // frame 9, not a packet
	w.SPB(frameBytes(10), 10)                       // frame 10

	r, pkts := mustRead(t, buf.Bytes())
	if r.Format() != "pcapng" {
		t.Errorf("Format = %q", r.Format())
	}
	type want struct {
		frame   uint64
		time    int64
		link    capture.LinkType
		iface   int
		capLen  int
		origLen int
	}
	wants := []want{
		{1, 1_500_000_000_250_000_000, capture.LinkTypeEthernet, 0, 70, 70},
		{2, 1_500_000_000_000_000_001, capture.LinkTypeNull, 1, 10, 40},
		{3, 1003_500_000_000, capture.LinkTypeRaw, 2, 20, 20},
		{5, 1000_000_000_000, capture.LinkTypeIPv6, 3, 30, 30},
		{6, 1_500_000_001_000_000_000, capture.LinkTypeEthernet, 0, 33, 33},
		{7, 1_500_000_001_000_000_000, capture.LinkTypeEthernet, 0, 80, 100}, // SPB: previous time
		{8, 1_500_000_002_000_000_000, capture.LinkTypeLinuxSLL2, 0, 44, 44},
		{10, 1_500_000_002_000_000_000, capture.LinkTypeLinuxSLL2, 0, 10, 10},
	}
	if len(pkts) != len(wants) {
		t.Fatalf("read %d packets, want %d", len(pkts), len(wants))
	}
	for i, w := range wants {
		p := pkts[i]
		got := want{p.Frame, p.Time, p.LinkType, p.Interface, p.CaptureLength, p.OriginalLength}
		if got != w {
			t.Errorf("packet %d = %+v, want %+v", i, got, w)
		}
		if !bytes.Equal(p.Data, frameBytes(w.capLen)) {
			t.Errorf("packet %d: data differs", i)
		}
	}
	if r.Frames() != 10 || r.NonPacketFrames() != 2 {
		t.Errorf("Frames %d NonPacketFrames %d, want 10 and 2", r.Frames(), r.NonPacketFrames())
	}
}

func TestPcapngSimplePacketBlockHonoursSnaplen(t *testing.T) {
	var buf bytes.Buffer
	w := ct.NewPcapng(&buf)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet, Snaplen: 50})
	w.EPB(0, 1e6, frameBytes(40), 40)
	w.SPB(frameBytes(60), 200) // block carries 60 bytes, snap length says 50
	_, pkts := mustRead(t, buf.Bytes())
	if len(pkts) != 2 || pkts[1].CaptureLength != 50 || pkts[1].OriginalLength != 200 {
		t.Fatalf("got %+v", pkts)
	}
}

// TestPcapngLargeBlock reads an EPB larger than the read buffer (big
// options), which goes through the copying path.
func TestPcapngLargeBlock(t *testing.T) {
	var buf bytes.Buffer
	w := ct.NewPcapng(&buf)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})
	data := frameBytes(1000)
	body := make([]byte, 20, 3<<20)
	w.Order().PutUint32(body[12:], 1000)
	w.Order().PutUint32(body[16:], 1000)
	body = append(body, data...)
	opt := make([]byte, 4)
	w.Order().PutUint16(opt, 1) // opt_comment
	w.Order().PutUint16(opt[2:], 60000)
	for len(body) < 2<<20 {
		body = append(body, opt...)
		body = append(body, make([]byte, 60000)...)
	}
	w.Block(ct.BlockEPB, body)
	w.EPB(0, 5, frameBytes(10), 10)
	r, pkts := mustRead(t, buf.Bytes())
	if len(pkts) != 2 || !bytes.Equal(pkts[0].Data, data) || !bytes.Equal(pkts[1].Data, frameBytes(10)) {
		t.Fatalf("got %d packets", len(pkts))
	}
	if pkts[1].Offset != int64(buf.Len()-44) { // the last block: 32 bytes around 10 data bytes padded to 12
		t.Errorf("second packet offset %d", pkts[1].Offset)
	}
	_ = r
}

func gzipped(t testing.TB, b []byte) []byte { // t may be nil
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	zw.Write(b)
	if err := zw.Close(); err != nil && t != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func TestGzipAndFiles(t *testing.T) {
	var plain bytes.Buffer
	w := ct.NewPcap(&plain, capture.LinkTypeEthernet, ct.PcapOptions{Nanosecond: true})
	for i := range 100 {
		w.Write(int64(i), frameBytes(100+i))
	}
	var ng bytes.Buffer
	nw := ct.NewPcapng(&ng)
	nw.Section(false)
	nw.Interface(ct.Interface{LinkType: capture.LinkTypeRaw})
	nw.EPB(0, 7, frameBytes(50), 50)

	dir := t.TempDir()
	for _, tc := range []struct {
		name, format string
		data         []byte
		packets      int
	}{
		{"a.pcapng", "pcap-ns", plain.Bytes(), 100}, // the name lies; the magic decides
		{"b.pcap.gz", "pcap-ns+gzip", gzipped(t, plain.Bytes()), 100},
		{"c.pcap", "pcapng+gzip", gzipped(t, ng.Bytes()), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Format() != tc.format || r.Size() != int64(len(tc.data)) {
				t.Errorf("Format %q Size %d; want %q %d", r.Format(), r.Size(), tc.format, len(tc.data))
			}
			pkts, err := readAll(t, r)
			if err != nil || len(pkts) != tc.packets {
				t.Fatalf("read %d packets, err %v", len(pkts), err)
			}
			if r.BytesRead() != int64(len(tc.data)) {
				t.Errorf("BytesRead = %d at the end, want %d", r.BytesRead(), len(tc.data))
			}
		})
	}
}

func TestStandardInput(t *testing.T) {
	var buf bytes.Buffer
	w := ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{})
	w.Write(1e9, frameBytes(64))
	path := filepath.Join(t.TempDir(), "in")
	if err := os.WriteFile(path, gzipped(t, buf.Bytes()), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()

	r, err := capture.Open("-")
	if err != nil {
		t.Fatal(err)
	}
	pkts, err := readAll(t, r)
	if err != nil || len(pkts) != 1 || r.Format() != "pcap+gzip" {
		t.Fatalf("%d packets, format %q, err %v", len(pkts), r.Format(), err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Stat(); err != nil {
		t.Errorf("Close closed standard input: %v", err)
	}
}

func TestStreamingInputHasUnknownSize(t *testing.T) {
	var buf bytes.Buffer
	ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{}).Write(1, frameBytes(10))
	pr, pw := io.Pipe()
	go func() { pw.Write(buf.Bytes()); pw.Close() }()
	r, err := capture.NewReader(pr, "pipe")
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != -1 {
		t.Errorf("Size = %d for a pipe, want -1", r.Size())
	}
	if pkts, err := readAll(t, r); err != nil || len(pkts) != 1 {
		t.Fatalf("%d packets, %v", len(pkts), err)
	}
}

func TestWarnings(t *testing.T) {
	var buf bytes.Buffer
	w := ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{Snaplen: 0, RawSnaplen: true})
	w.Write(5e9, frameBytes(20))
	w.Write(4e9, frameBytes(20)) // time goes backwards
	w.WriteHeader(6e9, 20, 10)   // captured more than the original length
	w.WriteRaw(frameBytes(20))
	r, pkts := mustRead(t, buf.Bytes())
	if len(pkts) != 3 {
		t.Fatalf("%d packets", len(pkts))
	}
	var kinds []string
	for _, w := range r.Warnings() {
		kinds = append(kinds, fmt.Sprintf("%s@%d/%d", w.Kind, w.Frame, w.Offset))
	}
	want := "snaplen_zero@0/16 time_backwards@2/60 caplen_over_original_length@3/96"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("warnings %q, want %q", got, want)
	}
	if pkts[2].OriginalLength != 20 {
		t.Errorf("original length %d, want it raised to 20", pkts[2].OriginalLength)
	}
	// The times read as times, as the report prints them, not as
	// nanoseconds since 1970.
	if s, want := r.Warnings()[1].String(), "test: frame 2 at byte offset 60: time_backwards: stamped 1970-01-01T00:00:04.000000000Z, 1s before the previous packet"; s != want {
		t.Errorf("warning text %q, want %q", s, want)
	}

	// Over the cap, warnings are counted but not kept.
	buf.Reset()
	w = ct.NewPcap(&buf, capture.LinkTypeEthernet, ct.PcapOptions{Snaplen: 10})
	for i := range capture.MaxWarnings + 50 {
		w.Write(int64(i), frameBytes(11)) // each exceeds the snap length
	}
	r, _ = mustRead(t, buf.Bytes())
	if len(r.Warnings()) != capture.MaxWarnings || r.WarningCount() != capture.MaxWarnings+50 {
		t.Errorf("kept %d warnings, counted %d", len(r.Warnings()), r.WarningCount())
	}
	if r.Warnings()[0].Kind != capture.WarnCaplenOverSnaplen {
		t.Errorf("kind %s", r.Warnings()[0].Kind)
	}
}

func TestErrorFormat(t *testing.T) {
	e := &capture.Error{File: "x.pcap", Frame: 7, Offset: 1234, Err: capture.ErrTruncated}
	if e.Error() != "x.pcap: frame 7 at byte offset 1234: capture file cut short" {
		t.Errorf("%q", e.Error())
	}
	if !errors.Is(e, capture.ErrTruncated) {
		t.Error("errors.Is does not see the cause")
	}
	e.Frame = 0
	if e.Error() != "x.pcap: at byte offset 1234: capture file cut short" {
		t.Errorf("%q", e.Error())
	}
}

// TestOpenDirectory: a directory is not a capture, and the error says so
// in words, naming it once, without a byte offset or the system call's
// "read DIR: is a directory".
func TestOpenDirectory(t *testing.T) {
	dir := t.TempDir()
	_, err := capture.Open(dir)
	if !errors.Is(err, capture.ErrNotCapture) {
		t.Fatalf("err = %v, want one wrapping ErrNotCapture", err)
	}
	if want := dir + ": not a pcap or pcapng capture: it is a directory"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
}

// TestCompressedErrorSaysDecompressed: in a gzip-compressed input, offsets
// count decompressed bytes, which can lie beyond the file's own size; the
// message says which bytes it counts.
func TestCompressedErrorSaysDecompressed(t *testing.T) {
	e := &capture.Error{File: "x.pcap.gz", Frame: 7, Offset: 1234, Compressed: true, Err: capture.ErrTruncated}
	if want := "x.pcap.gz: frame 7 at byte offset 1234 of the decompressed data: capture file cut short"; e.Error() != want {
		t.Errorf("%q, want %q", e.Error(), want)
	}
	e.Frame = 0
	if want := "x.pcap.gz: at byte offset 1234 of the decompressed data: capture file cut short"; e.Error() != want {
		t.Errorf("%q, want %q", e.Error(), want)
	}
	w := capture.Warning{File: "x.pcap.gz", Frame: 3, Offset: 99, Compressed: true, Kind: capture.WarnTimeBackwards, Detail: "d"}
	if want := "x.pcap.gz: frame 3 at byte offset 99 of the decompressed data: time_backwards: d"; w.String() != want {
		t.Errorf("%q, want %q", w.String(), want)
	}
}

func TestOpenMissingFile(t *testing.T) {
	_, err := capture.Open(filepath.Join(t.TempDir(), "nope.pcap"))
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.pcap") {
		t.Errorf("err = %v", err)
	}
}

func TestShortInputs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"hi\n", capture.ErrNotCapture},
		{"\xd4\xc3", capture.ErrTruncated},     // start of a pcap magic
		{"\x0a\x0d\x0d", capture.ErrTruncated}, // start of a pcapng magic
		{"\x1f\x8b", capture.ErrTruncated},     // a gzip header cut short
	} {
		_, err := capture.NewReader(strings.NewReader(tc.in), "short")
		var ce *capture.Error
		if !errors.Is(err, tc.want) || !errors.As(err, &ce) || ce.Offset != 0 {
			t.Errorf("%q: error %v, want %v at offset 0", tc.in, err, tc.want)
		}
	}
}

// TestGzipCutAfterLastFrame: a gzip file that lost only its last bytes
// (the trailer: checksum and length) decompresses every frame; the error
// then says the stream stops after the last frame, not that a frame
// which does not exist is cut.
func TestGzipCutAfterLastFrame(t *testing.T) {
	z := gzipped(t, httpPcap(3))
	r, err := capture.NewReader(bytes.NewReader(z[:len(z)-4]), "cut.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	frames := 0
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		frames++
	}
	var ce *capture.Error
	if !errors.Is(err, capture.ErrTruncated) || !errors.As(err, &ce) {
		t.Fatalf("after %d frames: error %v, want a capture.Error wrapping ErrTruncated", frames, err)
	}
	want := fmt.Sprintf("stops after frame %d", frames)
	if ce.Frame != 0 || !strings.Contains(err.Error(), want) {
		t.Errorf("after %d frames: %q (frame %d), want no frame named and %q", frames, err, ce.Frame, want)
	}
	// The whole file reads to its end without an error.
	r, err = capture.NewReader(bytes.NewReader(z), "whole.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		if _, err = r.Next(); err != nil {
			break
		}
		n++
	}
	if !errors.Is(err, io.EOF) || n != frames {
		t.Errorf("the whole file: %d frames then %v; want the same %d frames then io.EOF", n, err, frames)
	}
}

// TestGzipBadChecksumAfterLastFrame damages the gzip trailer (the CRC-32 of
// the decompressed data, then its length): every frame decompresses, and the
// error that follows names no frame, since there is no next frame to name,
// only the place after the last one.
func TestGzipBadChecksumAfterLastFrame(t *testing.T) {
	for _, tc := range []struct {
		desc string
		at   int // from the end of the file
	}{{"crc-32", 8}, {"length", 2}} {
		for _, format := range []string{"pcap", "pcapng"} {
			plain := httpPcap(3)
			if format == "pcapng" {
				var b bytes.Buffer
				w := ct.NewPcapng(&b)
				w.Section(false)
				w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})
				for i := range 3 {
					w.EPB(0, uint64(i), frameBytes(60), 60)
				}
				plain = b.Bytes()
			}
			z := gzipped(t, plain)
			z[len(z)-tc.at] ^= 0x40
			r, err := capture.NewReader(bytes.NewReader(z), "bad.gz")
			if err != nil {
				t.Fatal(err)
			}
			frames := 0
			for {
				if _, err = r.Next(); err != nil {
					break
				}
				frames++
			}
			var ce *capture.Error
			if frames != 3 || !errors.Is(err, gzip.ErrChecksum) || !errors.As(err, &ce) {
				t.Fatalf("%s, %s: %d frames then %v; want 3 frames then a capture.Error wrapping gzip.ErrChecksum", format, tc.desc, frames, err)
			}
			if want := "after frame 3"; ce.Frame != 0 || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "frame 4") {
				t.Errorf("%s, %s: %q (frame %d), want no frame named and %q", format, tc.desc, err, ce.Frame, want)
			}
		}
	}
}

// TestPcapngTimestampOutOfRange: a stamp beyond 2262 (here 2^63 µs) gets a
// warning naming its frame and the previous packet's time, not a time that
// wrapped round; the packets around it keep their own.
func TestPcapngTimestampOutOfRange(t *testing.T) {
	var b bytes.Buffer
	w := ct.NewPcapng(&b)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})
	for _, ts := range []uint64{1_700_000_000_000_001, 1 << 63, 1_700_000_000_000_003} {
		w.EPB(0, ts, frameBytes(60), 60)
	}
	r, pkts := mustRead(t, b.Bytes())
	if len(pkts) != 3 {
		t.Fatalf("%d packets, want 3", len(pkts))
	}
	if want := []int64{1_700_000_000_000_001_000, 1_700_000_000_000_001_000, 1_700_000_000_000_003_000}; pkts[0].Time != want[0] || pkts[1].Time != want[1] || pkts[2].Time != want[2] {
		t.Errorf("times %d %d %d, want %v", pkts[0].Time, pkts[1].Time, pkts[2].Time, want)
	}
	ws := r.Warnings()
	if len(ws) != 1 || ws[0].Kind != capture.WarnTimestampOutOfRange || ws[0].Frame != 2 || !strings.Contains(ws[0].String(), "timestamp 9223372036854775808 on interface 0") {
		t.Errorf("warnings %v, want one timestamp_out_of_range for frame 2", ws)
	}
}

// TestPcapngDamagedNonPacketBlock: damage in a block Wireshark numbers no
// frame for (name resolution, interface statistics, decryption secrets)
// names the block and no frame, since the next frame number would send the
// user to a packet that is not the damaged one (or does not exist).
func TestPcapngDamagedNonPacketBlock(t *testing.T) {
	for _, tc := range []struct {
		typ  uint32
		name string
	}{
		{ct.BlockNRB, "name resolution block"},
		{ct.BlockISB, "interface statistics block"},
		{ct.BlockDSB, "decryption secrets block"},
	} {
		var b bytes.Buffer
		w := ct.NewPcapng(&b)
		w.Section(false)
		w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})
		w.EPB(0, 1, frameBytes(60), 60)
		at := b.Len()
		w.BlockRaw(tc.typ, 16, []byte{0, 0, 0, 0}, 20) // trailer disagrees
		w.EPB(0, 2, frameBytes(60), 60)
		r, err := capture.NewReader(bytes.NewReader(b.Bytes()), "f.pcapng")
		if err != nil {
			t.Fatal(err)
		}
		pkts, err := readAll(t, r)
		var ce *capture.Error
		if len(pkts) != 1 || !errors.As(err, &ce) {
			t.Fatalf("%s: %d packets then %v, want 1 then a capture.Error", tc.name, len(pkts), err)
		}
		if ce.Frame != 0 || ce.Offset != int64(at) || !strings.Contains(err.Error(), tc.name+" length 16 at its start but 20 at its end") {
			t.Errorf("%s: %q (frame %d, offset %d), want no frame, offset %d, the block named", tc.name, err, ce.Frame, ce.Offset, at)
		}
	}
}

// TestPcapngDamagedInterfaceOptions: an interface description whose option
// list runs past its block (here an option claiming 1000 bytes, before the
// if_tsresol that says nanoseconds) still gives its interface, but with a
// warning: the options after the damage are lost, so its times may be read
// in the wrong unit. (tshark refuses the whole file.)
func TestPcapngDamagedInterfaceOptions(t *testing.T) {
	var b bytes.Buffer
	w := ct.NewPcapng(&b)
	w.Section(false)
	idbAt := b.Len()
	body := []byte{1, 0, 0, 0, 0, 0, 0, 0} // Ethernet, reserved, snap length 0
	body = append(body, 2, 0, 0xe8, 0x03)  // if_name, 1000 bytes: past the block
	body = append(body, 9, 0, 1, 0, 9, 0, 0, 0, 0, 0, 0, 0)
	w.Block(ct.BlockIDB, body)
	w.EPB(0, 1_700_000_000_000_000, frameBytes(60), 60)
	r, pkts := mustRead(t, b.Bytes())
	if len(pkts) != 1 {
		t.Fatalf("%d packets, want 1", len(pkts))
	}
	if pkts[0].Time != 1_700_000_000_000_000_000 { // the lost if_tsresol: read in µs
		t.Errorf("time %d, want the stamp read in microseconds", pkts[0].Time)
	}
	ws := r.Warnings()
	if len(ws) != 1 || ws[0].Kind != capture.WarnDamagedOptions || ws[0].Frame != 0 || ws[0].Offset != int64(idbAt) ||
		!strings.Contains(ws[0].Detail, "interface 0") {
		t.Errorf("warnings %v, want one damaged_options for interface 0 at offset %d", ws, idbAt)
	}
	// Well-formed options give no warning.
	var ok bytes.Buffer
	w = ct.NewPcapng(&ok)
	w.Section(false)
	w.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet, TSResol: 9, TSOffset: 5})
	w.EPB(0, 1, frameBytes(60), 60)
	if r, _ := mustRead(t, ok.Bytes()); len(r.Warnings()) != 0 {
		t.Errorf("well-formed options: warnings %v", r.Warnings())
	}
}

// TestLargestRecordFitsTheBuffer reads records of MaxPacketLength bytes,
// the largest a Reader accepts, between small ones, in every classic pcap
// variant and in pcapng, from a pipe (which fills the read buffer a piece
// at a time) and from a file: each must come whole from the read buffer,
// which is sized for them (readBufferSize). One byte more is refused as
// ErrTooLarge, naming the frame.
func TestLargestRecordFitsTheBuffer(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		write func(w io.Writer, sizes ...int)
	}{
		{"pcap", func(w io.Writer, sizes ...int) {
			p := ct.NewPcap(w, capture.LinkTypeEthernet, ct.PcapOptions{Snaplen: capture.MaxPacketLength})
			for i, n := range sizes {
				p.Write(int64(i+1)*1e9, frameBytes(n))
			}
		}},
		{"modified pcap", func(w io.Writer, sizes ...int) {
			p := ct.NewPcap(w, capture.LinkTypeEthernet, ct.PcapOptions{Modified: true, Snaplen: capture.MaxPacketLength})
			for i, n := range sizes {
				p.Write(int64(i+1)*1e9, frameBytes(n))
			}
		}},
		{"pcapng", func(w io.Writer, sizes ...int) {
			p := ct.NewPcapng(w)
			p.Section(false)
			p.Interface(ct.Interface{LinkType: capture.LinkTypeEthernet})
			for i, n := range sizes {
				p.EPB(0, uint64(i+1)*1e6, frameBytes(n), n)
			}
		}},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			sizes := []int{60, capture.MaxPacketLength, 70, capture.MaxPacketLength, capture.MaxPacketLength, 80}
			var buf bytes.Buffer
			tc.write(&buf, sizes...)
			path := filepath.Join(t.TempDir(), "big")
			if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			pr, pw := io.Pipe()
			go func() { pw.Write(buf.Bytes()); pw.Close() }()
			piped, err := capture.NewReader(pr, "pipe")
			if err != nil {
				t.Fatal(err)
			}
			file, err := capture.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			for _, r := range []*capture.Reader{piped, file} {
				pkts, err := readAll(t, r)
				if err != nil || len(pkts) != len(sizes) {
					t.Fatalf("%d packets, %v", len(pkts), err)
				}
				for i, p := range pkts {
					if p.CaptureLength != sizes[i] || !bytes.Equal(p.Data, frameBytes(sizes[i])) {
						t.Errorf("packet %d: %d bytes, want %d as written", i+1, p.CaptureLength, sizes[i])
					}
				}
			}

			buf.Reset()
			tc.write(&buf, 60, capture.MaxPacketLength+1)
			r, err := capture.NewReader(bytes.NewReader(buf.Bytes()), "over")
			if err != nil {
				t.Fatal(err)
			}
			pkts, err := readAll(t, r)
			var ce *capture.Error
			if len(pkts) != 1 || !errors.Is(err, capture.ErrTooLarge) || !errors.As(err, &ce) || ce.Frame != 2 {
				t.Errorf("one byte over the limit: %d packets, error %v", len(pkts), err)
			}
		})
	}
}
