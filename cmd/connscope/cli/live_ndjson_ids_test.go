package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/internal/textsafe"
	"github.com/connscope/connscope/report"
)

// liveNDJSONOf streams a capture file through the live NDJSON path (the
// records as connections close, then finish) and returns the records.
func liveNDJSONOf(t *testing.T, path string, opts analysis.Options) []map[string]any {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return liveNDJSONFrom(t, r, path, opts)
}

func liveNDJSONFrom(t *testing.T, r *capture.Reader, path string, opts analysis.Options) []map[string]any {
	t.Helper()
	var out bytes.Buffer
	stream := &liveNDJSON{s: report.NewNDJSONStream(textsafe.NewJSONWriter(&out))}
	opts.Events = stream
	a := analysis.New(opts)
	if err := a.AddSource(path, r.Format(), r); err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	defer rep.Close()
	if err := stream.finish(rep); err != nil {
		t.Fatal(err)
	}
	var records []map[string]any
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		records = append(records, rec)
	}
	return records
}

// retriedPOSTBehindKeepAlive is a capture where the live stream's numbers
// are not the report's: a keep-alive connection (1) sends a GET first and
// stays open; a POST on connection 2 goes unanswered when the server
// closes it, and is sent again on connection 3, which answers it. The
// stream numbers transactions as their connections close (2, 3, then 1),
// the report in request order (1, 2, 3), and CC1008, a finding across
// connections written from the report, cites connection 3's POST.
func retriedPOSTBehindKeepAlive(t *testing.T) *capture.Reader {
	t.Helper()
	var buf bytes.Buffer
	w := capturetest.NewPcap(&buf, capture.LinkTypeEthernet, capturetest.PcapOptions{})
	srv := netip.MustParseAddrPort("192.0.2.1:80")
	type conn struct {
		cli        netip.AddrPort
		cSeq, sSeq uint32
	}
	seg := func(at float64, c *conn, fromClient bool, fl capture.TCPFlags, payload string) {
		tcp := capturetest.TCP{Src: srv, Dst: c.cli, Seq: c.sSeq, Ack: c.cSeq, Flags: fl, Window: 65535, Payload: []byte(payload)}
		if fromClient {
			tcp = capturetest.TCP{Src: c.cli, Dst: srv, Seq: c.cSeq, Ack: c.sSeq, Flags: fl, Window: 65535, Payload: []byte(payload)}
		}
		w.Write(int64(1.7e18+at*1e6), capturetest.Ethernet(tcp.IP()))
		n := uint32(len(payload))
		if fl&(capture.FlagSYN|capture.FlagFIN) != 0 {
			n++
		}
		if fromClient {
			c.cSeq += n
		} else {
			c.sSeq += n
		}
	}
	open := func(at float64, c *conn) {
		seg(at, c, true, capture.FlagSYN, "")
		c.sSeq-- // the SYN/ACK acknowledges the SYN; its own ISN is sSeq
		seg(at+0.1, c, false, capture.FlagSYN|capture.FlagACK, "")
		seg(at+0.2, c, true, capture.FlagACK, "")
	}
	closeBy := func(at float64, c *conn, serverFirst bool) {
		seg(at, c, !serverFirst, capture.FlagFIN|capture.FlagACK, "")
		seg(at+0.1, c, serverFirst, capture.FlagFIN|capture.FlagACK, "")
		seg(at+0.2, c, !serverFirst, capture.FlagACK, "")
	}
	const post = "POST /pay HTTP/1.1\r\nHost: shop.test\r\nContent-Length: 1\r\n\r\nx"
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	keep := &conn{cli: netip.MustParseAddrPort("10.0.0.1:40001"), cSeq: 100, sSeq: 901}
	lost := &conn{cli: netip.MustParseAddrPort("10.0.0.1:40002"), cSeq: 200, sSeq: 801}
	again := &conn{cli: netip.MustParseAddrPort("10.0.0.1:40003"), cSeq: 300, sSeq: 701}
	open(0, keep)
	seg(1, keep, true, capture.FlagPSH|capture.FlagACK, "GET / HTTP/1.1\r\nHost: shop.test\r\n\r\n")
	seg(2, keep, false, capture.FlagPSH|capture.FlagACK, ok)
	open(3, lost)
	seg(5, lost, true, capture.FlagPSH|capture.FlagACK, post)
	closeBy(10, lost, true)
	open(20, again)
	seg(22, again, true, capture.FlagPSH|capture.FlagACK, post)
	seg(23, again, false, capture.FlagPSH|capture.FlagACK, ok)
	closeBy(30, again, false)
	closeBy(2000, keep, false)
	r, err := capture.NewReader(&buf, "retried-post.pcap")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLiveNDJSONFindingsCiteStreamedTransactions: in a live NDJSON stream
// a finding's transaction is the ID of a transaction record of that
// stream, on the finding's connection. The findings across connections
// come from the finished report, which numbers transactions in request
// order, while the stream numbered them as their connections closed
// (retriedPOSTBehindKeepAlive); the test captures, where the two orders
// agree, must hold too.
func TestLiveNDJSONFindingsCiteStreamedTransactions(t *testing.T) {
	paths, err := filepath.Glob("../../../testdata/captures/*.pcap*")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	cited := 0
	for _, path := range append([]string{"retried-post.pcap"}, paths...) {
		for _, opts := range []analysis.Options{{}, {SpillListing: true}} {
			var records []map[string]any
			if path == "retried-post.pcap" {
				records = liveNDJSONFrom(t, retriedPOSTBehindKeepAlive(t), path, opts)
			} else {
				records = liveNDJSONOf(t, path, opts)
			}
			txnConn := map[float64]float64{} // streamed transaction ID → its connection
			for _, rec := range records {
				switch rec["type"] {
				case "transaction":
					txnConn[rec["id"].(float64)] = rec["connection"].(float64)
				case "finding":
					id, ok := rec["transaction"].(float64)
					if !ok || id == 0 {
						continue
					}
					cited++
					conn, listed := txnConn[id]
					if !listed || conn != rec["connection"] {
						t.Errorf("%s, spill %v: %s on connection %v cites transaction %v, which the stream gave connection %v (listed: %v)",
							filepath.Base(path), opts.SpillListing, rec["rule"], rec["connection"], id, conn, listed)
					}
				}
			}
		}
	}
	if cited == 0 {
		t.Fatal("no finding cites a transaction")
	}
}
