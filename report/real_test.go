package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
)

// capturesDir holds frozen copies of two real captures from
// testdata/captures (recorded from real Linux TCP stacks by
// testdata/gen): the captures there are regenerated from time to time with
// new ports and times, which would change every byte of a rendering, so
// the report goldens are made from copies that never change. Refresh them
// by copying the files over and running go test ./report -update.
const capturesDir = "../testdata/golden-report/captures"

// goldenCaptures are the captures whose renderings are kept as golden
// files: keep-alive reuse (several transactions per connection) and loss
// with retransmissions (segment classification on the timeline).
var goldenCaptures = []string{"keepalive-reuse.pcap", "loss-retransmit.pcap"}

// realCaptures returns the paths of the golden captures that exist.
func realCaptures() []string {
	var out []string
	for _, name := range goldenCaptures {
		p := filepath.Join(capturesDir, name)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// analyzeCaptureFile runs the whole pipeline on a capture, keeping the
// segments and headers the renderers draw. The input is named by its base
// name so that golden files do not depend on the working directory.
func analyzeCaptureFile(t testing.TB, path string) *analysis.Report {
	t.Helper()
	return analyzeWith(t, path, analysis.Options{KeepSegments: true, KeepHeaders: true})
}

// analyzeWithoutRules is analyzeCaptureFile with every rule disabled: the
// golden files of real captures hold what capture, reassembly and httpflow
// made of them, and do not change each time a rule's wording or threshold
// is tuned (the hand-made report's goldens cover findings).
func analyzeWithoutRules(t testing.TB, path string) *analysis.Report {
	t.Helper()
	opts := analysis.Options{KeepSegments: true, KeepHeaders: true}
	opts.Diagnose.Enabled = func(*diagnose.Rule) bool { return false }
	return analyzeWith(t, path, opts)
}

func analyzeWith(t testing.TB, path string, opts analysis.Options) *analysis.Report {
	t.Helper()
	a := analysis.New(opts)
	src, err := capture.Open(path)
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer src.Close()
	if err := a.AddSource(filepath.Base(path), src.Format(), src); err != nil {
		t.Fatalf("analysing %s: %v", path, err)
	}
	return a.Report()
}

func httpHeader(name, value string) httpflow.Header { return httpflow.Header{Name: name, Value: value} }

// TestGoldenRealCaptures renders real captures in every text format and
// compares with the golden files (go test ./report -update rewrites them
// after a deliberate change in the pipeline or a renderer). Rules are off
// here (see analyzeWithoutRules); TestRealCaptureTimelineCoversSegments
// and the browser test run them.
func TestGoldenRealCaptures(t *testing.T) {
	paths := realCaptures()
	if len(paths) == 0 {
		t.Skip("no testdata captures found in " + capturesDir)
	}
	for _, path := range paths {
		base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		t.Run(base, func(t *testing.T) {
			r := analyzeWithoutRules(t, path)
			if len(r.Connections) == 0 || len(r.Connections[0].Segments) == 0 {
				t.Fatalf("%s: no connections with segments; KeepSegments did not reach the report", path)
			}
			outputs := map[string]func(*bytes.Buffer) error{
				".ndjson":    func(b *bytes.Buffer) error { return WriteNDJSON(b, r) },
				".har":       func(b *bytes.Buffer) error { return WriteHAR(b, r, HAROptions{CreatorVersion: "test", Indent: true}) },
				".junit.xml": func(b *bytes.Buffer) error { return WriteJUnitWith(b, r, JUnitOptions{Rules: fixtureRules()}) },
				".timeline.txt": func(b *bytes.Buffer) error {
					return WriteTimeline(b, r, busiestConnection(r), nil)
				},
			}
			for ext, render := range outputs {
				var b bytes.Buffer
				if err := render(&b); err != nil {
					t.Fatalf("%s: %v", ext, err)
				}
				checkGolden(t, "real-"+base+ext, b.Bytes())
				if ext == ".har" {
					for _, e := range checkHAR(b.Bytes()) {
						t.Errorf("HAR of %s: %s", base, e)
					}
				}
			}
		})
	}
}

// busiestConnection picks the connection with the most segments (the
// lowest ID among equals), the one whose timeline shows most.
func busiestConnection(r *analysis.Report) int {
	best, n := 0, -1
	for _, c := range r.Connections {
		if len(c.Segments) > n {
			best, n = c.ID, len(c.Segments)
		}
	}
	return best
}

// TestRealCaptureDeterministic analyses a capture twice and wants every
// format byte-identical, HTML included.
func TestRealCaptureDeterministic(t *testing.T) {
	paths := realCaptures()
	if len(paths) == 0 {
		t.Skip("no testdata captures found in " + capturesDir)
	}
	render := func(r *analysis.Report) []byte {
		var b bytes.Buffer
		for _, f := range []func() error{
			func() error { return WriteNDJSON(&b, r) },
			func() error { return WriteHAR(&b, r, HAROptions{}) },
			func() error { return WriteJUnit(&b, r) },
			func() error { return WriteHTML(&b, r, HTMLOptions{}) },
			func() error { return WriteTimeline(&b, r, 1, nil) },
		} {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		return b.Bytes()
	}
	for _, path := range paths {
		a, b := render(analyzeCaptureFile(t, path)), render(analyzeCaptureFile(t, path))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two runs differ\n%s", path, firstDiff(a, b))
		}
	}
}

// TestRealCaptureTimelineCoversSegments checks the timeline against the
// report it came from: one line per segment record, a marker for every
// request and response, and every finding about the connection.
func TestRealCaptureTimelineCoversSegments(t *testing.T) {
	paths := realCaptures()
	if len(paths) == 0 {
		t.Skip("no testdata captures found in " + capturesDir)
	}
	for _, path := range paths {
		r := analyzeCaptureFile(t, path)
		for _, c := range r.Connections {
			var b bytes.Buffer
			if err := WriteTimeline(&b, r, c.ID, nil); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			segLines := 0
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "C --> S") || strings.Contains(line, "C <-- S") {
					segLines++
				}
			}
			if segLines != len(c.Segments) {
				t.Errorf("%s connection %d: %d segment lines for %d records", path, c.ID, segLines, len(c.Segments))
			}
			for _, tx := range r.Transactions {
				if tx.Connection != c.ID {
					continue
				}
				if tx.Request != nil && !strings.Contains(out, fmt.Sprintf("┌ T%d request", tx.ID)) {
					t.Errorf("%s connection %d: no request marker for T%d", path, c.ID, tx.ID)
				}
				if tx.Response != nil && !strings.Contains(out, fmt.Sprintf("┌ T%d response", tx.ID)) {
					t.Errorf("%s connection %d: no response marker for T%d", path, c.ID, tx.ID)
				}
			}
			for _, f := range r.Findings {
				if f.Connection == c.ID && !strings.Contains(out, "◆ "+f.Rule+" ") {
					t.Errorf("%s connection %d: finding %s not marked", path, c.ID, f.Rule)
				}
			}
		}
	}
}
