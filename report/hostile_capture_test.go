package report

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The HTTP exchange of the hostile capture: markup, attribute breakouts
// and script URLs in the request target, header values and the reason
// phrase, and a terminal escape sequence in a header value.
const (
	hostileRequest = "GET /<script>alert(1)</script>?x=\"><img/src=x/onerror=alert(2)> HTTP/1.1\r\n" +
		"Host: evil.test\r\n" +
		"User-Agent: <script>alert(5)</script>\r\n" +
		"X-Evil: \"><svg onload=alert(4)> javascript:alert(3) \x1b[31mred\x1b[0m\r\n" +
		"\r\n"
	hostileResponse = "HTTP/1.1 200 OK<script>alert(6)</script>\r\n" +
		"Content-Type: text/html\"><script>alert(7)</script>\r\n" +
		"Content-Length: 5\r\n" +
		"\r\n" +
		"hello"
)

// writeHostileCapture writes a nanosecond pcap of one complete TCP
// connection carrying the hostile exchange; gopacket's serializer builds
// the frames so that lengths and checksums are right. (The file format is
// written here by hand: gopacket's pcapgo would pull in a dependency the
// module does not carry.)
func writeHostileCapture(t *testing.T, path string) {
	t.Helper()
	var file bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b23c4d) // nanosecond-resolution magic
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535)
	le.PutUint32(hdr[20:], 1) // LINKTYPE_ETHERNET
	file.Write(hdr)
	client, server := net.IPv4(192, 0, 2, 1).To4(), net.IPv4(192, 0, 2, 80).To4()
	cmac, smac := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	const cisn, sisn = 1000, 5000
	start := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	var id uint16
	frame := func(ms float64, fromClient bool, seq, ack uint32, flags string, payload string) {
		id++
		eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Id: id, Protocol: layers.IPProtocolTCP, SrcIP: client, DstIP: server}
		tcp := &layers.TCP{SrcPort: 50000, DstPort: 80, Seq: seq, Ack: ack, Window: 64240}
		if !fromClient {
			eth.SrcMAC, eth.DstMAC = smac, cmac
			ip.SrcIP, ip.DstIP = server, client
			tcp.SrcPort, tcp.DstPort = 80, 50000
		}
		tcp.SYN = strings.Contains(flags, "S")
		tcp.ACK = strings.Contains(flags, ".")
		tcp.PSH = strings.Contains(flags, "P")
		tcp.FIN = strings.Contains(flags, "F")
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		at := start.Add(time.Duration(ms * float64(time.Millisecond)))
		rec := make([]byte, 16)
		le.PutUint32(rec[0:], uint32(at.Unix()))
		le.PutUint32(rec[4:], uint32(at.Nanosecond()))
		le.PutUint32(rec[8:], uint32(len(data)))
		le.PutUint32(rec[12:], uint32(len(data)))
		file.Write(rec)
		file.Write(data)
	}
	req, resp := uint32(len(hostileRequest)), uint32(len(hostileResponse))
	frame(0, true, cisn, 0, "S", "")
	frame(1, false, sisn, cisn+1, "S.", "")
	frame(2, true, cisn+1, sisn+1, ".", "")
	frame(3, true, cisn+1, sisn+1, "P.", hostileRequest)
	frame(4, false, sisn+1, cisn+1+req, ".", "")
	frame(9, false, sisn+1, cisn+1+req, "P.", hostileResponse)
	frame(10, true, cisn+1+req, sisn+1+resp, ".", "")
	frame(11, true, cisn+1+req, sisn+1+resp, "F.", "")
	frame(12, false, sisn+1+resp, cisn+2+req, "F.", "")
	frame(13, true, cisn+2+req, sisn+2+resp, ".", "")
	if err := os.WriteFile(path, file.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHostileCaptureEndToEnd runs a capture whose request and response
// carry hostile text through the whole pipeline and every renderer, and
// checks that the text arrived (so the test is not vacuous) and that
// nothing of it is live in any output.
func TestHostileCaptureEndToEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hostile.pcap")
	writeHostileCapture(t, path)
	r := analyzeCaptureFile(t, path)
	if len(r.Transactions) != 1 {
		t.Fatalf("%d transactions, want 1; the pipeline did not parse the hostile exchange", len(r.Transactions))
	}
	tx := r.Transactions[0]
	if !strings.Contains(tx.Target, "<script>") || len(tx.RequestHeaders) < 3 || !strings.Contains(tx.Reason, "<script>") {
		t.Fatalf("hostile text did not reach the report: target %q, %d request headers, reason %q", tx.Target, len(tx.RequestHeaders), tx.Reason)
	}

	t.Run("html", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
			t.Fatal(err)
		}
		_, _, _, problems := scanHTML(b.String())
		for _, p := range problems {
			t.Error(p)
		}
		if bytes.IndexByte(b.Bytes(), 0x1b) >= 0 {
			t.Errorf("raw escape byte in the HTML")
		}
		if !strings.Contains(b.String(), "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("the hostile target is not shown escaped")
		}
	})
	t.Run("junit", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteJUnit(&b, r); err != nil {
			t.Fatal(err)
		}
		parseJUnit(t, b.Bytes())
	})
	t.Run("har", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteHAR(&b, r, HAROptions{}); err != nil {
			t.Fatal(err)
		}
		for _, e := range checkHAR(b.Bytes()) {
			t.Error(e)
		}
		var doc harDoc
		if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if got := doc.Log.Entries[0].Request.Headers; len(got) != len(tx.RequestHeaders) {
			t.Errorf("HAR has %d request headers, the capture %d", len(got), len(tx.RequestHeaders))
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteNDJSON(&b, r); err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(b.Bytes(), "<>\x1b") {
			t.Errorf("raw <, > or ESC in NDJSON")
		}
	})
	t.Run("timeline", func(t *testing.T) {
		var b bytes.Buffer
		if err := WriteTimeline(&b, r, r.Connections[0].ID, nil); err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(b.Bytes(), 0x1b) >= 0 {
			t.Errorf("raw escape byte in the timeline")
		}
		if !strings.Contains(b.String(), "GET /<script>alert(1)</script>") {
			t.Errorf("timeline does not show the request line")
		}
	})
}
