package diagnose_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.findings from the current rules (review every change against the capture before committing)")

const (
	capturesDir = "../testdata/captures"
	// ownCapturesDir holds real-kernel captures recorded by
	// testdata/gen.sh for rules the shared generator does not cover yet.
	ownCapturesDir  = "testdata/captures"
	goldenDir       = "../testdata/golden"
	sharedPcapsDir  = "../../shared/pcaps"
	sharedGoldenDir = "../testdata/golden/shared"
)

// healthyShared are the captures in ../shared/pcaps that show nothing
// wrong with connection management: they must raise no warning or error.
var healthyShared = []string{
	"zeek__get.pcap",
	"zeek__pipelined-requests.pcap",
	"zeek__http-vlan-0.pcap",
	"zeek__workshop_2011_browse.pcap",
	"suricata-verify__http-brotli-ce__input.pcap",
	"suricata-verify__ruletype-firewall-88-default-accept-tx-pipeline__input.pcap",
	"gopacket__test_loopback.pcap",
	"chrissanders-packets__http_ip4and6.pcapng",
	"nDPI__http_ua_splitted_in_two_pkts.pcapng",
}

// diagnoseFile runs the whole pipeline on one capture: read, decode,
// reassemble, parse HTTP, diagnose. Transaction IDs are numbered in the
// order connections close, as a caller would.
func diagnoseFile(t *testing.T, path string, cfg diagnose.Config) []diagnose.Finding {
	t.Helper()
	return diagnoseFileWith(t, path, cfg, nil)
}

// diagnoseFileWith is diagnoseFile with prepare (when not nil) called on
// the engine before the first connection.
func diagnoseFileWith(t *testing.T, path string, cfg diagnose.Config, prepare func(*diagnose.Engine)) []diagnose.Finding {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer r.Close()
	engine, err := diagnose.NewEngine(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(engine)
	}
	h := &pipeline{engine: engine, parsers: map[*reassembly.Connection]*httpflow.Conn{}}
	asm := reassembly.NewAssembler(reassembly.Config{}, h)
	if _, err := capturetest.EachSegment(r, asm.Add); err != nil {
		t.Logf("%s: reading stopped: %v", path, err)
	}
	asm.Flush()
	return engine.Finish()
}

// pipeline parses every connection with a parser that keeps all its
// transactions and gives them to Engine.Connection at the close. number
// gives each transaction its ID (nil: in the order they are given).
type pipeline struct {
	engine  *diagnose.Engine
	parsers map[*reassembly.Connection]*httpflow.Conn
	nextTx  int
	number  func(*reassembly.Connection, *httpflow.Transaction)
}

func (h *pipeline) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	p := httpflow.NewConn(c, httpflow.Config{})
	h.parsers[c] = p
	return p
}

func (h *pipeline) Closed(c *reassembly.Connection) {
	p := h.parsers[c]
	delete(h.parsers, c)
	ci := &diagnose.ConnInfo{Conn: c, App: httpflow.AppUnknown}
	if p != nil {
		ci.App, ci.Transactions = p.App(), p.Transactions()
	}
	for _, t := range ci.Transactions {
		if h.number != nil {
			h.number(c, t)
			continue
		}
		h.nextTx++
		t.ID = h.nextTx
	}
	h.engine.Connection(ci)
}

// goldenLine renders a finding for a golden file. The part before " # "
// is compared: rule, connection(s), transaction (connection.index, 1-based
// index as users count) and evidence frames. Severity, cost and message
// after it are for the person reviewing the file.
func goldenLine(f diagnose.Finding) (key, full string) {
	tx := "-"
	if f.Transaction != nil {
		tx = fmt.Sprintf("%d.%d", f.Transaction.Connection, f.Transaction.Index+1)
	}
	conns := make([]string, len(f.Connections))
	for i, c := range f.Connections {
		conns[i] = fmt.Sprint(c)
	}
	frames := make([]string, len(f.Frames))
	for i, fr := range f.Frames {
		frames[i] = fmt.Sprint(fr)
	}
	key = fmt.Sprintf("%s conn=%d conns=%s tx=%s frames=%s", f.Rule, f.Connection, orDash(strings.Join(conns, ",")),
		tx, orDash(strings.Join(frames, ",")))
	cost := "?"
	if f.Cost >= 0 {
		cost = fmt.Sprintf("%.1fms", float64(f.Cost)/1e6)
	}
	return key, fmt.Sprintf("%s # %s %s cost=%s: %s", key, f.Slug, f.Severity, cost, f.Message)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const goldenHeader = `# Expected connscope findings for %s, one per line.
# Compared: rule, conn (0 for findings about several), conns, tx (connection.transaction), frames.
# After " # ": slug, severity, estimated cost and message, for the reviewer only.
# Regenerate with: go test ./diagnose -run TestGolden -update  (then check every changed line with tshark)
# All of it is compared while the capture is the one reviewed; after the capture is
# regenerated only the set of rules that fire is (until the file is reviewed again):
# capture-sha256: %s
`

const shaPrefix = "# capture-sha256: "

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// ruleSet reduces golden keys to the sorted set of rules they name, for
// captures regenerated since their golden file was reviewed: a real-kernel
// capture keeps its story (which rules fire) but not its frame numbers,
// ports or exact counts of timing-dependent events.
func ruleSet(keys []string) []string {
	var ids []string
	for _, k := range keys {
		id, _, _ := strings.Cut(k, " ")
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// goldenConfig reads optional threshold overrides for one capture from
// <golden>.thresholds, one RULE.name=value a line ('#' starts a comment),
// the way a user passes --threshold: for a capture recorded under
// conditions a default does not describe (a narrowed port range, say).
func goldenConfig(t *testing.T, goldenPath string) diagnose.Config {
	t.Helper()
	data, err := os.ReadFile(strings.TrimSuffix(goldenPath, ".findings") + ".thresholds")
	if errors.Is(err, fs.ErrNotExist) {
		return diagnose.Config{}
	}
	if err != nil {
		t.Fatal(err)
	}
	cfg := diagnose.Config{Thresholds: map[string]float64{}}
	for _, line := range strings.Split(string(data), "\n") {
		line, _, _ = strings.Cut(line, "#")
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if !ok || err != nil {
			t.Fatalf("%s.thresholds: bad line %q", goldenPath, line)
		}
		cfg.Thresholds[strings.TrimSpace(key)] = v
	}
	return cfg
}

// checkGolden compares a capture's findings with its golden file, or
// rewrites the file under -update.
func checkGolden(t *testing.T, capturePath, goldenPath string) []diagnose.Finding {
	t.Helper()
	findings := diagnoseFile(t, capturePath, goldenConfig(t, goldenPath))
	var keys, lines []string
	for _, f := range findings {
		k, l := goldenLine(f)
		keys, lines = append(keys, k), append(lines, l)
	}
	if *update {
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf(goldenHeader, filepath.Base(capturePath), fileSHA256(t, capturePath)) + strings.Join(lines, "\n")
		if len(lines) > 0 {
			body += "\n"
		}
		if err := os.WriteFile(goldenPath, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return findings
	}
	data, err := os.ReadFile(goldenPath)
	if errors.Is(err, fs.ErrNotExist) {
		// A capture that just landed has no reviewed expectations yet;
		// the healthy check below still applies to it.
		t.Logf("%s: no golden file yet: run go test ./diagnose -run TestGolden -update and review it", filepath.Base(capturePath))
		return findings
	}
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	sameCapture := false
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if sha, ok := strings.CutPrefix(line, shaPrefix); ok {
			sameCapture = sha == fileSHA256(t, capturePath)
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, _, _ := strings.Cut(line, " # ")
		want = append(want, strings.TrimSpace(k))
	}
	if !sameCapture {
		t.Logf("%s changed since its golden file was reviewed: comparing which rules fire, not where "+
			"(run -update and review)", filepath.Base(capturePath))
		got, exp := ruleSet(keys), ruleSet(want)
		for _, id := range missingFrom(got, exp) {
			t.Errorf("%s: rule %s no longer fires", filepath.Base(capturePath), id)
		}
		for _, id := range missingFrom(exp, got) {
			t.Errorf("%s: rule %s fires where it did not", filepath.Base(capturePath), id)
		}
		return findings
	}
	for _, k := range missingFrom(keys, want) {
		t.Errorf("%s: missing finding: %s", filepath.Base(capturePath), k)
	}
	for _, k := range missingFrom(want, keys) {
		t.Errorf("%s: unexpected finding: %s", filepath.Base(capturePath), lines[slices.Index(keys, k)])
	}
	return findings
}

// missingFrom returns the entries of want that have no counterpart in got,
// counting repeats.
func missingFrom(got, want []string) []string {
	left := slices.Clone(got)
	var missing []string
	for _, w := range want {
		if i := slices.Index(left, w); i >= 0 {
			left = slices.Delete(left, i, i+1)
		} else {
			missing = append(missing, w)
		}
	}
	return missing
}

func captureFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !(strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") ||
			strings.HasSuffix(n, ".pcap.gz") || strings.HasSuffix(n, ".pcapng.gz")) {
			continue
		}
		out = append(out, n)
	}
	return out
}

// TestGolden runs every capture in testdata/captures through the pipeline
// and compares the findings with testdata/golden/<capture>.findings. The
// captures that MANIFEST.md calls healthy must raise no warning or error.
func TestGolden(t *testing.T) {
	ran := false
	for _, dir := range []string{capturesDir, ownCapturesDir} {
		healthy := healthyInManifest(t, filepath.Join(dir, "MANIFEST.md"))
		for _, name := range captureFiles(t, dir) {
			ran = true
			t.Run(name, func(t *testing.T) {
				fs := checkGolden(t, filepath.Join(dir, name), filepath.Join(goldenDir, name+".findings"))
				if healthy[strings.TrimSuffix(name, ".gz")] {
					noWarnings(t, fs)
				}
			})
		}
	}
	if !ran {
		t.Skip("no captures in " + capturesDir + " or " + ownCapturesDir)
	}
}

// TestCompactSummariesChangeNoFinding runs every test capture twice, once
// with the compact summaries (times as 32-bit offsets, frames in 32 bits)
// and once with every summary forced into the wide form: the findings
// must be the same. The test captures' connections all fit the compact
// form; TestWideSummariesChangeNoFinding covers connections that do not.
func TestCompactSummariesChangeNoFinding(t *testing.T) {
	ran := false
	compactKept, wideKept := 0, 0
	for _, dir := range []string{capturesDir, ownCapturesDir} {
		for _, name := range captureFiles(t, dir) {
			ran = true
			path := filepath.Join(dir, name)
			var engine *diagnose.Engine
			compact := diagnoseFileWith(t, path, diagnose.Config{}, func(e *diagnose.Engine) { engine = e })
			c, w := diagnose.SummaryForms(engine)
			compactKept, wideKept = compactKept+c, wideKept+w
			wide := diagnoseFileWith(t, path, diagnose.Config{}, diagnose.ForceWideSummaries)
			if !reflect.DeepEqual(compact, wide) {
				t.Errorf("%s: compact summaries:\n%+v\nwide summaries:\n%+v", name, compact, wide)
			}
		}
	}
	if !ran {
		t.Skip("no captures in " + capturesDir + " or " + ownCapturesDir)
	}
	if compactKept == 0 {
		t.Errorf("the captures gave no compact summary (%d wide): the test compares nothing", wideKept)
	}
}

// TestManifestHealthy makes sure the healthy check above has captures to
// check when the manifest is there.
func TestManifestHealthy(t *testing.T) {
	path := filepath.Join(capturesDir, "MANIFEST.md")
	if _, err := os.Stat(path); err != nil {
		t.Skip("no " + path)
	}
	healthy := healthyInManifest(t, path)
	for _, name := range []string{"keepalive-reuse.pcap", "healthy-page-load.pcap", "http10-keepalive-ok.pcap"} {
		if !healthy[name] {
			t.Errorf("%s is not read as healthy from %s (found %v)", name, path, healthy)
		}
	}
}

// healthyInManifest reads the capture table of MANIFEST.md: rows whose
// expectation column says "Healthy", "no warning or error" or "silent:
// everything" name captures that must raise no warning or error.
func healthyInManifest(t *testing.T, path string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Logf("no manifest: %v", err)
		return nil
	}
	healthy := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(line, "|") {
			continue
		}
		name := strings.TrimSpace(cells[1])
		if expect := cells[len(cells)-2]; strings.Contains(expect, "Healthy") ||
			strings.Contains(expect, "no warning or error") || strings.Contains(expect, "silent: everything") {
			healthy[name] = true
		}
	}
	return healthy
}

func noWarnings(t *testing.T, fs []diagnose.Finding) {
	t.Helper()
	for _, f := range fs {
		if f.Severity >= diagnose.SeverityWarning {
			_, l := goldenLine(f)
			t.Errorf("healthy capture raised %s", l)
		}
	}
}

// TestGoldenShared does the same for the public captures in ../shared/pcaps
// (skipped when absent, as for users who clone the project), and checks
// that the healthy ones raise no warning or error.
func TestGoldenShared(t *testing.T) {
	names := captureFiles(t, sharedPcapsDir)
	if len(names) == 0 {
		t.Skip("no shared captures in " + sharedPcapsDir)
	}
	for _, name := range names {
		if strings.HasPrefix(name, "libpcap__pcap-invalid") {
			continue // deliberately unreadable
		}
		t.Run(name, func(t *testing.T) {
			fs := checkGolden(t, filepath.Join(sharedPcapsDir, name), filepath.Join(sharedGoldenDir, name+".findings"))
			if slices.Contains(healthyShared, name) {
				noWarnings(t, fs)
			}
		})
	}
}
