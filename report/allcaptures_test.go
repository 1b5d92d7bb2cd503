package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
)

// TestEveryCaptureRenders renders every capture in testdata/captures and,
// when present, the public captures in ../shared/pcaps (real traffic
// nobody here wrote, some of it with non-printable header bytes) in every
// format, and checks each format's guarantees on the result.
func TestEveryCaptureRenders(t *testing.T) {
	var paths []string
	for _, dir := range []string{"../testdata/captures", "../../shared/pcaps"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if strings.HasSuffix(name, ".md") || e.IsDir() {
				continue
			}
			paths = append(paths, filepath.Join(dir, name))
		}
	}
	if len(paths) == 0 {
		t.Skip("no captures found")
	}
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r, ok := analyzeLenient(path)
			if !ok {
				t.Skip("not a capture connscope reads")
			}
			var b bytes.Buffer
			if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
				t.Fatalf("html: %v", err)
			}
			if _, _, _, problems := scanHTML(b.String()); len(problems) > 0 {
				t.Fatalf("html: %v", problems)
			}
			b.Reset()
			if err := WriteHAR(&b, r, HAROptions{}); err != nil {
				t.Fatalf("har: %v", err)
			}
			if errs := checkHAR(b.Bytes()); len(errs) > 0 {
				t.Fatalf("har: %v", errs)
			}
			b.Reset()
			if err := WriteJUnit(&b, r); err != nil {
				t.Fatalf("junit: %v", err)
			}
			parseJUnit(t, b.Bytes())
			b.Reset()
			if err := WriteNDJSON(&b, r); err != nil {
				t.Fatalf("ndjson: %v", err)
			}
			lines := 0
			for _, line := range bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n")) {
				if len(line) > 0 {
					if !json.Valid(line) {
						t.Fatalf("ndjson: invalid line %q", line)
					}
					lines++
				}
			}
			want := len(r.Connections) + len(r.Transactions) + len(r.Findings)
			if r.Rules != nil {
				want++ // the "rules" record
			}
			for _, in := range r.Inputs {
				if in.Error != "" || len(in.Warnings) > 0 {
					want++ // its "input" record
				}
			}
			if lines != want {
				t.Errorf("ndjson: %d lines, want %d", lines, want)
			}
			for _, c := range r.Connections {
				b.Reset()
				if err := WriteTimeline(&b, r, c.ID, nil); err != nil {
					t.Fatalf("timeline %d: %v", c.ID, err)
				}
				if bytes.IndexByte(b.Bytes(), 0x1b) >= 0 {
					t.Fatalf("timeline %d: raw escape byte", c.ID)
				}
			}
		})
	}
}

// analyzeLenient runs the pipeline like analyzeCaptureFile but accepts a
// damaged capture (what was read before the damage is reported) and
// reports false for a file that is no capture at all.
func analyzeLenient(path string) (*analysis.Report, bool) {
	a := analysis.New(analysis.Options{KeepSegments: true, KeepHeaders: true})
	src, err := capture.Open(path)
	if err != nil {
		return nil, false
	}
	defer src.Close()
	_ = a.AddSource(filepath.Base(path), src.Format(), src)
	return a.Report(), true
}
