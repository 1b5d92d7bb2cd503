package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/connscope/connscope/internal/sharedpcaps"
	"github.com/connscope/connscope/reassembly"
)

// capture4710 is suricata-verify security-4710: the client's RST of frame 4
// carries a TCP-MD5 option the server ignored (the request and response
// follow it on the same connection); the client's RST of frame 12, after
// both FINs, is the one that ended the connection.
const capture4710 = "suricata-verify__security-4710-01__input.pcap"

// timelineSegmentLine returns the timeline's line for frame, "" when
// there is none.
func timelineSegmentLine(timeline string, frame uint64) string {
	want := strconv.FormatUint(frame, 10)
	for _, line := range strings.Split(timeline, "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[1] == want && (f[2]+f[3]+f[4] == "C-->S" || f[2]+f[3]+f[4] == "C<--S") {
			return line
		}
	}
	return ""
}

// TestTimelineMarksIgnoredRST: on 4710's timeline the RST of frame 4 is
// noted ignored-rst and the one of frame 12 is not; the heading says how
// many RSTs the connection outlived, and where, beside the close, which
// still names the client's reset.
func TestTimelineMarksIgnoredRST(t *testing.T) {
	r := analyzeCaptureFile(t, sharedpcaps.Path(t, capture4710))
	var b bytes.Buffer
	if err := WriteTimeline(&b, r, 1, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	ignored, final := timelineSegmentLine(out, 4), timelineSegmentLine(out, 12)
	if ignored == "" || final == "" {
		t.Fatalf("no segment line for frame 4 or 12:\n%s", out)
	}
	for _, line := range []string{ignored, final} {
		if !strings.Contains(line, " R") {
			t.Errorf("not a RST line: %q", line)
		}
	}
	if !strings.Contains(ignored, "ignored-rst") {
		t.Errorf("frame 4's RST is not marked ignored: %q", ignored)
	}
	if strings.Contains(final, "ignored") {
		t.Errorf("frame 12's RST, which ended the connection, is marked ignored: %q", final)
	}
	for _, want := range []string{"closed first by server (fin), reset by client", "1 rst ignored (frame 4)"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline heading lacks %q:\n%s", want, out)
		}
	}
}

// TestTimelineIgnoredRSTWithoutSegments: without segment records the
// heading still counts the ignored RSTs, naming no frame.
func TestTimelineIgnoredRSTWithoutSegments(t *testing.T) {
	r := fixtureReport()
	c := r.Connections[1]
	c.Segments, c.IgnoredRSTs = nil, 2
	var b bytes.Buffer
	if err := WriteTimeline(&b, r, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.Contains(out, "  2 rsts ignored\n") {
		t.Errorf("timeline heading lacks %q:\n%s", "2 rsts ignored", out)
	}
}

var (
	jsKindConst = regexp.MustCompile(`\b(K_[A-Z]+) = (\d+)\b`)
	jsKindName  = regexp.MustCompile(`\[(K_[A-Z]+), '([^']*)'\]`)
)

// TestHTMLScriptNamesEverySegmentKind: the page's script names every
// reassembly.SegmentKind bit, up to KindIgnoredRST, with the bit's own
// value, so no kind reaches a tooltip as a bare number or is left out;
// the ignored RST's name says it was ignored.
func TestHTMLScriptNamesEverySegmentKind(t *testing.T) {
	values := map[string]uint64{}
	for _, m := range jsKindConst.FindAllStringSubmatch(reportJS, -1) {
		v, err := strconv.ParseUint(m[2], 10, 16)
		if err != nil {
			t.Fatalf("%s = %s: %v", m[1], m[2], err)
		}
		values[m[1]] = v
	}
	names := map[uint64]string{}
	for _, m := range jsKindName.FindAllStringSubmatch(reportJS, -1) {
		v, ok := values[m[1]]
		if !ok {
			t.Errorf("KIND_NAMES names %s, which has no value", m[1])
		}
		names[v] = m[2]
	}
	for k := reassembly.SegmentKind(1); k != 0 && k <= reassembly.KindIgnoredRST; k <<= 1 {
		if names[uint64(k)] == "" {
			t.Errorf("report.js does not name kind %s (%d)", k, uint64(k))
		}
	}
	if n := names[uint64(reassembly.KindIgnoredRST)]; !strings.Contains(n, "ignored") {
		t.Errorf("report.js names KindIgnoredRST %q, which does not say ignored", n)
	}
}

// TestHTMLIgnoredRST: in 4710's page the chart data gives frame 4's RST
// the KindIgnoredRST bit (which the script names) and frame 12's not, and
// the connection table's close column says a RST was ignored.
func TestHTMLIgnoredRST(t *testing.T) {
	r := analyzeCaptureFile(t, sharedpcaps.Path(t, capture4710))
	var b bytes.Buffer
	if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	const open = `<script type="application/json" id="connscope-data">`
	i := strings.Index(page, open)
	if i < 0 {
		t.Fatal("no chart data in the page")
	}
	j := strings.Index(page[i:], "</script>")
	var data chartData
	if err := json.Unmarshal([]byte(page[i+len(open):i+j]), &data); err != nil {
		t.Fatal(err)
	}
	if len(data.Conns) != 1 {
		t.Fatalf("%d connections drawn, want 1", len(data.Conns))
	}
	kinds := map[uint64]reassembly.SegmentKind{}
	flags := map[uint64]uint8{}
	for _, s := range data.Conns[0].Segs {
		kinds[uint64(s[8])] = reassembly.SegmentKind(s[7])
		flags[uint64(s[8])] = uint8(s[6])
	}
	for frame, wantIgnored := range map[uint64]bool{4: true, 12: false} {
		if flags[frame]&4 == 0 {
			t.Errorf("frame %d is not a RST in the chart data (flags %d)", frame, flags[frame])
		}
		if got := kinds[frame]&reassembly.KindIgnoredRST != 0; got != wantIgnored {
			t.Errorf("frame %d: ignored bit %v, want %v (kind %s)", frame, got, wantIgnored, kinds[frame])
		}
	}
	if want := "<td>fin by server, rst by client (1 rst ignored)</td>"; !strings.Contains(page, want) {
		t.Errorf("page lacks %q", want)
	}
}

// TestTimelineNamesEverySegmentKind: the timeline's notes name every
// reassembly.SegmentKind bit, up to KindIgnoredRST, each differently, so
// no classification is dropped from a segment line.
func TestTimelineNamesEverySegmentKind(t *testing.T) {
	seen := map[string]reassembly.SegmentKind{}
	for k := reassembly.SegmentKind(1); k != 0 && k <= reassembly.KindIgnoredRST; k <<= 1 {
		names := kindNames(k)
		if len(names) != 1 {
			t.Errorf("kind %s (%d) has timeline names %q, want one", k, uint64(k), names)
			continue
		}
		if other, dup := seen[names[0]]; dup {
			t.Errorf("kinds %s and %s are both noted %q", other, k, names[0])
		}
		seen[names[0]] = k
	}
	if got := kindNames(reassembly.KindIgnoredRST); len(got) != 1 || !strings.Contains(got[0], "ignored") {
		t.Errorf("KindIgnoredRST is noted %q, which does not say ignored", got)
	}
}
