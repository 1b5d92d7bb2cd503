package reassembly

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/internal/sharedpcaps"
)

// tsharkTruth is one file written by testdata/truth/gen-tcp-truth.sh.
type tsharkTruth struct {
	Capture    string         `json:"capture"`
	SHA256     string         `json:"sha256"`
	TCPStreams int            `json:"tcp_streams"`
	Streams    []tsharkStream `json:"streams"`
}

type tsharkStream struct {
	Stream          int       `json:"stream"`
	A               string    `json:"a"`
	B               string    `json:"b"`
	FirstFrame      uint64    `json:"first_frame"`
	LastFrame       uint64    `json:"last_frame"`
	Packets         wayCounts `json:"packets"`
	Bytes           wayCounts `json:"bytes"`
	Retransmissions wayCounts `json:"retransmissions"`
}

type wayCounts struct {
	AToB int64 `json:"a_to_b"`
	BToA int64 `json:"b_to_a"`
}

// truthException records, per capture, where connscope disagrees with tshark
// on purpose and why. Anything not listed must match exactly: connection
// count, and per 4-tuple the packets, payload bytes and retransmissions each
// way and every stream's first frame.
type truthException struct {
	why string
	// extraConnections is connscope's connection count minus tshark's
	// stream count; extraTuples counts 4-tuples only connscope has.
	extraConnections, extraTuples int
	// tsharkOnly is what tshark counts over the whole file that connscope
	// does not: packets and payload bytes (both directions), and
	// retransmission flags.
	tsharkOnly struct{ packets, bytes, retrans int64 }
	// firstFrameDiffers allows a tuple's first frame to differ (tshark
	// counted a frame connscope skips).
	firstFrameDiffers bool
}

var truthExceptions = map[string]truthException{
	"testdata/bad/absurd-record-length.pcap": {
		why: "tshark gives up on the whole file at the damaged record (frame 3) and reports no stream; " +
			"connscope reports the connection in the two frames before the damage",
		extraConnections: 1, extraTuples: 1,
	},
	"arkime__wireshark-retrans.pcap": {
		why: "every frame is recorded two or three times; tshark flags the copies that occupy sequence space as " +
			"retransmissions, except frame 10 (a third copy of the SYN, 5.6 ms after the first) that it calls " +
			"out-of-order; connscope calls all of them capture duplicates, so one fewer than counted from the copies",
		tsharkOnly: struct{ packets, bytes, retrans int64 }{0, 0, -1},
	},
}

// captureDuplicateFiles lists the captures that record frames twice (same
// IP ID and bytes, microseconds apart). Only in these may connscope find
// capture duplicates: everywhere else a repeated segment is a real
// retransmission, and calling it a duplicate would hide it. tshark counts
// the copies' bytes in tcp.len and flags most of them as retransmissions;
// the comparison adds them back (CaptureDuplicateBytes, and the copies that
// occupy sequence space) before comparing.
var captureDuplicateFiles = map[string]bool{
	"arkime__wireshark-retrans.pcap":              true,
	"zeek__m57-long-49583-80.pcap":                true,
	"zeek__vnd.ms-cab-compressed-multi-conn.pcap": true,
	"testdata/bad/capture-duplicates.pcap":        true,
	// Frame 3 repeats the segment that frames 1 and 2 carried as IPv4
	// fragments, with the same IP ID and bytes: the builder's copy, not a
	// retransmission (tshark flags it as one; the comparison adds it back).
	"testdata/bad/ip-fragments.pcap": true,
}

// repoRoot is the module root, one level above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// sharedPcaps returns the shared capture folder, or "" when it is absent.
func sharedPcaps(t *testing.T) string {
	dir := sharedpcaps.Dir()
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return ""
	}
	return dir
}

// TestTsharkTruth compares connscope's connections with tshark's TCP
// streams for every capture in testdata/ and in the shared captures.
func TestTsharkTruth(t *testing.T) {
	root := repoRoot(t)
	truthDir := filepath.Join(root, "testdata", "truth", "tcp")
	const regen = "run testdata/truth/gen-tcp-truth.sh"

	local, _ := filepath.Glob(filepath.Join(truthDir, "local", "*.json"))
	if len(local) == 0 {
		t.Fatalf("no truth files under %s: %s", truthDir, regen)
	}
	// Every capture in testdata/ must have a truth file.
	seen := map[string]bool{}
	for _, f := range local {
		seen[strings.TrimSuffix(filepath.Base(f), ".json")] = true
	}
	_ = filepath.WalkDir(filepath.Join(root, "testdata"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if d != nil && d.IsDir() && d.Name() == "truth" {
				return filepath.SkipDir
			}
			return nil
		}
		if isCaptureName(d.Name()) {
			rel, _ := filepath.Rel(filepath.Join(root, "testdata"), p)
			if !seen[strings.ReplaceAll(filepath.ToSlash(rel), "/", "__")] {
				t.Errorf("testdata/%s has no tshark truth: %s", rel, regen)
			}
		}
		return nil
	})

	for _, f := range local {
		t.Run("local/"+strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			truth := readTruth(t, f)
			compareWithTruth(t, filepath.Join(root, filepath.FromSlash(truth.Capture)), truth, regen)
		})
	}

	shared := sharedPcaps(t)
	if shared == "" {
		t.Log("shared captures not found (../shared/pcaps or CONNSCOPE_SHARED_PCAPS); skipping them")
		return
	}
	files, _ := filepath.Glob(filepath.Join(truthDir, "shared", "*.json"))
	for _, f := range files {
		t.Run("shared/"+strings.TrimSuffix(filepath.Base(f), ".json"), func(t *testing.T) {
			truth := readTruth(t, f)
			path := filepath.Join(shared, truth.Capture)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("%s not in the shared folder", truth.Capture)
			}
			compareWithTruth(t, path, truth, regen)
		})
	}
}

func isCaptureName(name string) bool {
	for _, ext := range []string{".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

func readTruth(t *testing.T, path string) tsharkTruth {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var truth tsharkTruth
	if err := json.Unmarshal(b, &truth); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return truth
}

// collector keeps every closed connection.
type collector struct{ conns []*Connection }

func (c *collector) Opened(*Connection) StreamConsumer { return nil }
func (c *collector) Closed(x *Connection)              { c.conns = append(c.conns, x) }

// assembleFile reads a capture through package capture and reassembles it.
// A damaged capture yields the connections read before the damage and the
// error.
func assembleFile(path string, cfg Config, h Handler) (*Assembler, error) {
	r, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	a := NewAssembler(cfg, h)
	_, readErr := capturetest.EachSegment(r, a.Add)
	a.Flush()
	return a, readErr
}

// tupleTotals sums what went each way between two endpoints, over every
// connection (or tshark stream) on that 4-tuple.
type tupleTotals struct {
	conns          int
	packets, bytes [2]int64 // [0]: lower endpoint to higher, [1]: back
	retrans        [2]int64
	dupRetrans     [2]int64 // capture duplicates that tshark calls retransmissions
	firstFrames    []uint64
}

func tupleOf(a, b string) (string, int) {
	if a < b {
		return a + " " + b, 0
	}
	return b + " " + a, 1
}

func compareWithTruth(t *testing.T, path string, truth tsharkTruth, regen string) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v (%s)", path, err, regen)
	}
	if sum := sha256.Sum256(data); truth.SHA256 != "" && hex.EncodeToString(sum[:]) != truth.SHA256 {
		t.Fatalf("%s changed since its truth was generated: %s", truth.Capture, regen)
	}
	col := &collector{}
	_, readErr := assembleFile(path, Config{}, col)
	if readErr != nil {
		t.Logf("read error (results up to it are compared): %v", readErr)
	}

	ours := map[string]*tupleTotals{}
	for _, c := range col.conns {
		key, way := tupleOf(c.Client.String(), c.Server.String())
		tt := ours[key]
		if tt == nil {
			tt = &tupleTotals{}
			ours[key] = tt
		}
		tt.conns++
		for d := range 2 {
			w := way ^ d // direction d's index in lower→higher terms
			ds := c.Dir[d]
			tt.packets[w] += ds.Packets
			tt.bytes[w] += ds.Bytes + ds.CaptureDuplicateBytes
			tt.retrans[w] += int64(ds.Retransmissions)
		}
		// tshark flags a frame the capture recorded twice as a
		// retransmission when it occupies sequence space (data, SYN, FIN);
		// connscope does not. Count those to compare.
		for _, r := range c.Segments {
			if r.Kind&KindCaptureDuplicate != 0 && (r.Len > 0 || r.Flags&uint8(capture.FlagSYN|capture.FlagFIN) != 0) {
				tt.dupRetrans[way^int(r.Dir)]++
			}
		}
		tt.firstFrames = append(tt.firstFrames, c.FirstFrame)
	}
	theirs := map[string]*tupleTotals{}
	for _, s := range truth.Streams {
		key, way := tupleOf(s.A, s.B)
		tt := theirs[key]
		if tt == nil {
			tt = &tupleTotals{}
			theirs[key] = tt
		}
		tt.conns++
		tt.packets[way] += s.Packets.AToB
		tt.packets[way^1] += s.Packets.BToA
		tt.bytes[way] += s.Bytes.AToB
		tt.bytes[way^1] += s.Bytes.BToA
		tt.retrans[way] += s.Retransmissions.AToB
		tt.retrans[way^1] += s.Retransmissions.BToA
		tt.firstFrames = append(tt.firstFrames, s.FirstFrame)
	}

	exc := truthExceptions[truth.Capture]
	var dups int
	for _, c := range col.conns {
		dups += c.Dir[0].CaptureDuplicates + c.Dir[1].CaptureDuplicates
	}
	if want := captureDuplicateFiles[truth.Capture]; (dups > 0) != want {
		t.Errorf("%d capture duplicates found; listed as a capture with duplicates: %v", dups, want)
	}
	if got, want := len(col.conns), truth.TCPStreams+exc.extraConnections; got != want {
		t.Errorf("%d connections, tshark has %d streams (expected difference %+d: %s)", got, truth.TCPStreams, exc.extraConnections, exc.why)
	}
	keys := make([]string, 0, len(theirs))
	for k := range theirs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// Per-tuple differences are errors unless the file's exception declares
	// a difference of that kind; then the file's total must equal it.
	var diffPackets, diffBytes, diffRetrans int64
	for _, k := range keys {
		th, us := theirs[k], ours[k]
		if us == nil {
			t.Errorf("%s: tshark has %d stream(s), connscope none", k, th.conns)
			continue
		}
		retrans := [2]int64{us.retrans[0] + us.dupRetrans[0], us.retrans[1] + us.dupRetrans[1]}
		for w := range 2 {
			diffPackets += th.packets[w] - us.packets[w]
			diffBytes += th.bytes[w] - us.bytes[w]
			diffRetrans += th.retrans[w] - retrans[w]
		}
		if us.packets != th.packets && exc.tsharkOnly.packets == 0 {
			t.Errorf("%s: packets %v, tshark %v", k, us.packets, th.packets)
		}
		if us.bytes != th.bytes && exc.tsharkOnly.bytes == 0 {
			t.Errorf("%s: payload bytes (duplicates included) %v, tshark %v", k, us.bytes, th.bytes)
		}
		if retrans != th.retrans && exc.tsharkOnly.retrans == 0 {
			t.Errorf("%s: retransmissions %v + capture duplicates tshark flags %v, tshark %v", k, us.retrans, us.dupRetrans, th.retrans)
		}
		if exc.firstFrameDiffers {
			continue
		}
		for _, f := range th.firstFrames {
			if !slices.Contains(us.firstFrames, f) {
				t.Errorf("%s: tshark stream starts at frame %d, no connscope connection does (ours start at %v)", k, f, us.firstFrames)
			}
		}
	}
	if diffPackets != exc.tsharkOnly.packets || diffBytes != exc.tsharkOnly.bytes || diffRetrans != exc.tsharkOnly.retrans {
		t.Errorf("tshark counts %d packets, %d bytes, %d retransmissions more than connscope; expected %+v (%s)",
			diffPackets, diffBytes, diffRetrans, exc.tsharkOnly, exc.why)
	}
	extra := 0
	for k := range ours {
		if theirs[k] == nil {
			extra++
		}
	}
	if extra != exc.extraTuples {
		t.Errorf("connscope has %d 4-tuple(s) tshark does not, expected %d (%s)", extra, exc.extraTuples, exc.why)
	}
}
