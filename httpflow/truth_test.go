package httpflow

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestTsharkTruth runs every capture that has a tshark truth file
// (testdata/truth/http, written by testdata/truth/gen-http-truth.sh)
// through capture → reassembly → httpflow and compares the requests, the
// responses and their pairing with what tshark's HTTP dissector found.
//
// Messages are matched by frame: tshark reports a message at the frame
// where it finished reassembling it, which lies between connscope's
// FirstFrame and LastFrame for that message. Where connscope disagrees on
// purpose, truthExpectations below says so per file, and the test checks
// that the disagreement is exactly the one explained.

// truthFile is the JSON written by gen-http-truth.sh.
type truthFile struct {
	File      string `json:"file"`
	Source    string `json:"source"`
	SHA256    string `json:"sha256"`
	Requests  []truthRequest
	Responses []truthResponse
}

type truthRequest struct {
	Frame  uint64  `json:"frame"`
	Stream int     `json:"stream"`
	Method string  `json:"method"`
	URI    *string `json:"uri"`
}

type truthResponse struct {
	Frame     uint64  `json:"frame"`
	Stream    int     `json:"stream"`
	Code      int     `json:"code"`
	RequestIn *uint64 `json:"request_in"`
}

// truthExpectation explains, for one capture, every way connscope is meant
// to differ from tshark. Each list holds "frame:what" keys (what is the
// method or status code) so that the test pins the exact messages. The
// captures under testdata/captures are regenerated from time to time, which
// renumbers frames: their keys use "*" for the frame.
type truthExpectation struct {
	why string
	// onlyTshark: messages tshark reports and connscope does not.
	onlyTshark []string
	// onlyOurs: messages connscope reports and tshark does not.
	onlyOurs []string
	// pairing: tshark response frames whose request_in connscope
	// contradicts; proved by proveInOrderPairing. pairingCount is the same
	// for regenerated captures: how many responses.
	pairing      []uint64
	pairingCount int
}

var truthExpectations = map[string]truthExpectation{
	// tshark pairs a response with the most recent request it has seen
	// (its HTTP dissector does not support pipelining). Here 40 GETs go
	// out in 5 segments before the responses: tshark pairs the first
	// response of frames 9 and 15 with requests of frames 8 and 11 although
	// earlier requests are still unanswered. proveInOrderPairing shows
	// connscope's in-order pairing is the only one consistent with the
	// bytes.
	"suricata-verify__http-protocol-nodup__input.pcap": {
		why:     "tshark pairs pipelined responses with the latest request",
		pairing: []uint64{9, 15},
	},
	"arkime__wireshark-retrans.pcap": {
		why: "frames 42 and 86 repeat frames 41 and 85 (same IP ID, same bytes, 0.3 ms apart): " +
			"capture duplicates that tshark dissects as two more responses; reassembly drops them",
		onlyTshark: []string{"42:200", "86:200"},
	},
	"suricata-verify__http-connect-simple__input.pcap": {
		why: "the GET of frame 9 travels inside the CONNECT tunnel: connscope stops parsing " +
			"HTTP/1.x at the tunnel by design, tshark keeps dissecting",
		onlyTshark: []string{"9:GET"},
	},
	// Responses that did not end: tshark does not report a message it
	// could not reassemble to its end; connscope reports it incomplete,
	// with the reason.
	"chrissanders-packets__latency2.pcapng": {
		why:      "the capture ends after the response's first segment (incomplete: end_of_capture)",
		onlyOurs: []string{"6:200"},
	},
	"chrissanders-packets__latency4.pcapng": {
		why:      "the capture ends after the response's first segment (incomplete: end_of_capture)",
		onlyOurs: []string{"6:200"},
	},
	"suricata-verify__TLPW1-tcp-174.56.47.59-10.3.11.101-tcp-80-49309.pcap": {
		why:      "the response is cut by lost segments and the client's RST (incomplete: gap)",
		onlyOurs: []string{"73:200"},
	},
	"suricata-verify__bug-5486__154.pcap": {
		why:      "the client's RST cuts the response after 135 kB of 753 kB (incomplete: rst)",
		onlyOurs: []string{"204:200"},
	},
	"zeek__entity_gap.pcap": {
		why:      "a segment of the response body was not captured (incomplete: gap)",
		onlyOurs: []string{"8:200"},
	},
	"suricata-verify__http-gap-simple__input.pcap": {
		why:      "the second response lost a segment (incomplete: gap); the third still pairs right",
		onlyOurs: []string{"22:200"},
	},
	"chrissanders-packets__http_espn.pcapng": {
		why:      "one response lost a segment before the capture point (incomplete: gap); the next transaction on its connection still pairs",
		onlyOurs: []string{"612:200"},
	},
	"suricata-verify__http-range-file__input.pcap": {
		why: "the first response starts with an out-of-order segment (frame 6 before 7 and 8): " +
			"tshark never dissects that response, reassembly puts the bytes in order and it parses complete",
		onlyOurs: []string{"25:206"},
	},
	// Real-kernel captures of testdata/captures (see its MANIFEST.md).
	"loss-retransmit.pcap": {
		why: "the /loss/3 GET is a retransmission whose original was lost before the capture point: " +
			"tshark does not dissect retransmitted bytes, reassembly delivers them once",
		onlyOurs: []string{"*:GET"},
	},
	"pipeline-get.pcap": {
		why:          "three GETs pipelined: tshark pairs the first response with the last request",
		pairingCount: 1,
	},
	"pipeline-post.pcap": {
		why:          "GET, POST, GET pipelined: tshark pairs the first response with the last request",
		pairingCount: 1,
	},
	"pipeline-hol-blocking.pcap": {
		why:          "pipelined GETs behind a slow first response: tshark pairs the first response with the last request",
		pairingCount: 1,
	},
	"pipeline-http10.pcap": {
		why:          "pipelined HTTP/1.0 requests: tshark pairs the first response with the last request",
		pairingCount: 1,
	},
	"pipeline-unanswered-close.pcap": {
		why: "three GETs pipelined, the server answers the first with Connection: close and closes: " +
			"tshark pairs that response with the last request",
		pairingCount: 1,
	},
	"rst-unread-pipelined.pcap": {
		why: "three GETs pipelined, the server answers the first and resets: " +
			"tshark pairs that response with the last request",
		pairingCount: 1,
	},
	"truncated-fin.pcap": {
		why:      "8000 of 20000 bytes, then the server's FIN: incomplete (fin), tshark drops it",
		onlyOurs: []string{"*:200"},
	},
	"truncated-rst.pcap": {
		why:      "8000 of 20000 bytes, then the server's RST: incomplete (rst), tshark drops it",
		onlyOurs: []string{"*:200"},
	},
	"chunked-no-last-chunk.pcap": {
		why:      "three chunks, then FIN without the zero chunk: incomplete (fin), tshark drops it",
		onlyOurs: []string{"*:200"},
	},
	"gap-mid-response.pcap": {
		why: "a body segment of /gap/2 was deleted from the file: that response is incomplete (gap), " +
			"tshark drops it; /gap/3 and /gap/4 pair right after it",
		onlyOurs: []string{"*:200"},
	},
	"zeek__get-to-ssh-server.pcap": {
		why: "tshark chooses dissectors by port (22 is SSH); connscope recognises the request " +
			"line by its bytes (the SSH server's banner becomes a malformed response)",
		onlyOurs: []string{"4:GET"},
	},
	"zeek__methods.pcap": {
		why: "broken request lines (\"OPTIONSHTTP/1.1\", \"CCM_POST/ HTTP/1.1\", non-ASCII methods) " +
			"that tshark does not take for requests, each answered by a 400: connscope keeps them as " +
			"malformed requests (bad_request_line) so that the 400 pairs with what caused it",
		onlyOurs: []string{"182:GET", "192:GET", "24:OPTIONSHTTP", "269:", "279:", "289:", "299:", "309:",
			"339:CCM_POST", "349:CCM_POST", "389:CONNECT", "399:CONNECT", "439:TRACE", "449:TRACE",
			"489:DELETE", "499:DELETE", "539:PUT", "549:PUT", "589:POST", "599:POST", "639:HEAD", "649:HEAD"},
	},
}

func TestTsharkTruth(t *testing.T) {
	truthDir := filepath.Join("..", "testdata", "truth", "http")
	files, err := filepath.Glob(filepath.Join(truthDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no truth files in %s (run testdata/truth/gen-http-truth.sh): %v", truthDir, err)
	}
	shared := sharedPcaps()
	for _, f := range files {
		var tf truthFile
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &tf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		t.Run(tf.File, func(t *testing.T) {
			var path string
			switch tf.Source {
			case "shared":
				if shared == "" {
					t.Skip("shared captures not found (../shared/pcaps or $CONNSCOPE_SHARED_PCAPS)")
				}
				path = filepath.Join(shared, tf.File)
			default:
				path = filepath.Join("..", "testdata", "captures", tf.File)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("capture not present: %v", err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != tf.SHA256 {
				t.Skipf("STALE: %s changed since its tshark truth was written; run testdata/truth/gen-http-truth.sh", tf.File)
			}
			res, _ := analyzeFile(t, path, Config{})
			compareTruth(t, &tf, res, truthExpectations[tf.File])
		})
	}
}

// ourMsg is one of connscope's messages with its transaction.
type ourMsg struct {
	m       *Message
	t       *Transaction
	conn    *connResult
	matched bool
}

func (o *ourMsg) key() string {
	if o.m.Method != "" || o.t.Request == o.m {
		return fmt.Sprintf("%d:%s", o.m.LastFrame, o.m.Method)
	}
	return fmt.Sprintf("%d:%d", o.m.LastFrame, o.m.Status)
}

func compareTruth(t *testing.T, tf *truthFile, res []*connResult, exp truthExpectation) {
	var reqs, resps []*ourMsg
	for _, c := range res {
		for _, tx := range c.txns {
			if tx.Request != nil {
				reqs = append(reqs, &ourMsg{m: tx.Request, t: tx, conn: c})
			}
			for _, m := range tx.Interim {
				resps = append(resps, &ourMsg{m: m, t: tx, conn: c})
			}
			if tx.Response != nil && tx.Response.Status != 0 {
				resps = append(resps, &ourMsg{m: tx.Response, t: tx, conn: c})
			}
		}
	}
	// Which connection each frame belongs to, so that a tshark message is
	// only matched within its own connection.
	connOf := map[uint64]*connResult{}
	for _, c := range res {
		for _, s := range c.conn.Segments {
			connOf[s.Frame] = c
		}
	}
	matchMsg := func(ms []*ourMsg, frame uint64, ok func(*Message) bool) *ourMsg {
		c := connOf[frame]
		for _, loose := range []bool{false, true} {
			for _, o := range ms {
				if !o.matched && o.conn == c && spans(o.m, frame, loose) && ok(o.m) {
					o.matched = true
					return o
				}
			}
		}
		return nil
	}
	var onlyTshark, onlyOurs []string
	respOf := map[int]*ourMsg{} // tshark response index → ours
	for _, r := range tf.Requests {
		if o := matchMsg(reqs, r.Frame, func(m *Message) bool {
			// A malformed request line has no agreed target: compare
			// methods only.
			return m.Method == r.Method && (r.URI == nil || m.Target == *r.URI || m.Incomplete == IncompleteMalformed)
		}); o == nil {
			onlyTshark = append(onlyTshark, fmt.Sprintf("%d:%s", r.Frame, r.Method))
		}
	}
	for i, r := range tf.Responses {
		o := matchMsg(resps, r.Frame, func(m *Message) bool { return m.Status == r.Code })
		if o == nil {
			onlyTshark = append(onlyTshark, fmt.Sprintf("%d:%d", r.Frame, r.Code))
			continue
		}
		respOf[i] = o
	}
	for _, o := range append(reqs, resps...) {
		if !o.matched {
			onlyOurs = append(onlyOurs, o.key())
		}
	}
	var pairing []uint64
	for i, r := range tf.Responses {
		o := respOf[i]
		if o == nil || r.RequestIn == nil {
			continue
		}
		q := o.t.Request
		if q == nil || *r.RequestIn < q.FirstFrame || *r.RequestIn > q.LastFrame {
			pairing = append(pairing, r.Frame)
		}
	}
	check := func(what string, got, want []string) {
		t.Helper()
		if !sameKeys(got, want) {
			sort.Strings(got)
			t.Errorf("%s: got %v, want %v (expectation: %q)", what, got, want, exp.why)
		}
	}
	check("messages tshark found and connscope did not", onlyTshark, exp.onlyTshark)
	check("messages connscope found and tshark did not", onlyOurs, exp.onlyOurs)
	var gotPairs, wantPairs []string
	for _, f := range pairing {
		gotPairs = append(gotPairs, fmt.Sprint(f))
	}
	for _, f := range exp.pairing {
		wantPairs = append(wantPairs, fmt.Sprint(f))
	}
	if exp.pairingCount > 0 {
		if len(pairing) != exp.pairingCount {
			t.Errorf("%d responses paired differently from tshark (%v), want %d (expectation: %q)", len(pairing), pairing, exp.pairingCount, exp.why)
		}
	} else {
		check("responses paired differently from tshark", gotPairs, wantPairs)
	}
	if len(exp.pairing) > 0 || exp.pairingCount > 0 {
		proveInOrderPairing(t, res)
	}
}

// sameKeys compares two lists of "frame:what" keys as multisets; a wanted
// key "*:what" stands for any frame.
func sameKeys(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	left := map[string]int{}
	for _, g := range got {
		left[g]++
	}
	var wild []string
	for _, w := range want {
		if strings.HasPrefix(w, "*:") {
			wild = append(wild, w[1:])
			continue
		}
		if left[w] == 0 {
			return false
		}
		left[w]--
	}
	for _, suffix := range wild {
		found := false
		for g, n := range left {
			if n > 0 && strings.HasSuffix(g, suffix) && !strings.Contains(strings.TrimSuffix(g, suffix), ":") {
				left[g]--
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// spans reports whether tshark's frame for a message can be this message:
// tshark names the frame where it finished reassembling the message, which
// is the frame of its last byte, except for a close-delimited or
// unfinished body, which tshark ends at the FIN or RST that follows the
// last byte (loose matching, tried after exact matching failed).
func spans(m *Message, frame uint64, loose bool) bool {
	if frame < m.FirstFrame {
		return false
	}
	if frame <= m.LastFrame {
		return true
	}
	return loose && (m.Framing == FramingCloseDelimited || !m.Complete)
}

// proveInOrderPairing checks, for captures where tshark's pairing and
// ours differ, the facts that make ours the right one. HTTP/1.1 answers
// requests on a connection strictly in order (RFC 9112 section 9.3.2), so
// the n-th response answers the n-th request provided that (1) every byte
// of both directions was accounted to a message (nothing lost, nothing
// skipped as junk), (2) every message parsed complete, (3) each response
// started after its request's first byte (a response cannot precede its
// request), and (4) requests left unanswered all come after the answered
// ones.
func proveInOrderPairing(t *testing.T, res []*connResult) {
	t.Helper()
	for _, c := range res {
		if c.app != AppHTTP1 {
			continue
		}
		var wire [2]int64
		unanswered := false
		for i, tx := range c.txns {
			q, s := tx.Request, tx.Response
			if q != nil && s == nil {
				// Requests left unanswered when the connection closed must
				// all come after the answered ones.
				unanswered = true
				wire[0] += q.WireBytes
				continue
			}
			if q == nil || unanswered {
				t.Errorf("conn %d txn %d: a response without request, or after an unanswered request", c.conn.ID, i)
				continue
			}
			if !q.Complete || !s.Complete || len(q.Anomalies())+len(s.Anomalies()) > 0 {
				t.Errorf("conn %d txn %d: not complete and clean: %v", c.conn.ID, i, render([]*Transaction{tx}))
			}
			if s.Start < q.Start || s.FirstFrame < q.FirstFrame {
				t.Errorf("conn %d txn %d: response (frame %d) before its request (frame %d)", c.conn.ID, i, s.FirstFrame, q.FirstFrame)
			}
			wire[0] += q.WireBytes
			wire[1] += s.WireBytes
			for _, m := range tx.Interim {
				wire[1] += m.WireBytes
			}
		}
		if wire != c.bytes || c.gaps != [2]int64{} {
			t.Errorf("conn %d: messages account for %v bytes of %v delivered (gaps %v)", c.conn.ID, wire, c.bytes, c.gaps)
		}
	}
}

// TestPipeliningCaptures pins what the public pipelining captures contain:
// true pipelining (requests sent before earlier responses ended) in two of
// them, and, despite its name, sequential keep-alive in Zeek's
// pipelined-requests.pcap, where tshark's pairing is right and agrees with
// ours (TestTsharkTruth).
func TestPipeliningCaptures(t *testing.T) {
	shared := sharedPcaps()
	if shared == "" {
		t.Skip("shared captures not found (../shared/pcaps or $CONNSCOPE_SHARED_PCAPS)")
	}
	for _, tc := range []struct {
		file                    string
		txns, pipelined, persis int
	}{
		// 40 GETs in 5 segments; the last says Connection: close.
		{"suricata-verify__http-protocol-nodup__input.pcap", 40, 39, 39},
		// Two GETs in one segment.
		{"suricata-verify__ruletype-firewall-88-default-accept-tx-pipeline__input.pcap", 2, 1, 2},
		// Five GETs, each sent after the previous response.
		{"zeek__pipelined-requests.pcap", 5, 0, 5},
	} {
		t.Run(tc.file, func(t *testing.T) {
			res, err := analyzeFile(t, filepath.Join(shared, tc.file), Config{})
			if err != nil {
				t.Fatal(err)
			}
			var txns, pipelined, persistent int
			for _, c := range res {
				for _, tx := range c.txns {
					txns++
					if tx.Pipelined {
						pipelined++
						if tx.GapBefore != 0 {
							t.Errorf("pipelined transaction %d has idle gap %d", tx.Index, tx.GapBefore)
						}
					}
					if tx.PersistentAfter {
						persistent++
					}
				}
			}
			if txns != tc.txns || pipelined != tc.pipelined || persistent != tc.persis {
				t.Errorf("transactions %d, pipelined %d, persistent after %d; want %d, %d, %d",
					txns, pipelined, persistent, tc.txns, tc.pipelined, tc.persis)
			}
		})
	}
}
