package cli

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"text/tabwriter"
)

// TestTableMatchesTabwriter: table aligns as text/tabwriter (minwidth 0,
// padding 2, spaces) does, on random cells of mixed widths, empty and
// multi-byte ones included.
func TestTableMatchesTabwriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	words := []string{"", "a", "GET /", "10.0.0.1:80", "→", "1.25ms", "incomplete:rst", "é…", "\\x00", "  7"}
	for round := 0; round < 200; round++ {
		cols := 1 + rng.IntN(8)
		rows := make([][]string, 1+rng.IntN(20))
		for i := range rows {
			rows[i] = make([]string, cols)
			for j := range rows[i] {
				rows[i][j] = words[rng.IntN(len(words))] + strings.Repeat("x", rng.IntN(3))
			}
		}
		var want bytes.Buffer
		tw := tabwriter.NewWriter(&want, 0, 0, 2, ' ', 0)
		for _, r := range rows {
			tw.Write([]byte(strings.Join(r, "\t") + "\n"))
		}
		tw.Flush()
		var tbl table
		for _, r := range rows {
			tbl.measure(r)
		}
		var got bytes.Buffer
		for _, r := range rows {
			tbl.write(&got, r)
		}
		if got.String() != want.String() {
			t.Fatalf("rows %q:\n got %q\nwant %q", rows, got.String(), want.String())
		}
	}
}

// TestSpilledListingRendersTheSame is the differential test of the CLI's
// listing: every test capture (and all of them as one run), in every
// format and text layout that reads the listing, gives the same bytes
// with the listing spilled to disk from its first record as with it held
// in memory.
func TestSpilledListingRendersTheSame(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "testdata", "captures", "*.pcap*"))
	if err != nil || len(files) < 10 {
		t.Fatalf("captures: %v (%d)", err, len(files))
	}
	layouts := [][]string{
		{"--color", "never"},
		{"--color", "never", "--show", "all", "--all-findings"},
		{"--color", "never", "--show", "summary,transactions"},
		{"--color", "never", "--show", "findings"},
		{"--format", "json"},
		{"--format", "ndjson"},
		{"--format", "har"},
		{"--format", "junit"},
		{"--color", "never", "--conn", "1"},
	}
	run := func(inMemory bool, args []string) (string, string, int) {
		listingInMemory, spillThreshold = inMemory, -1
		defer func() { listingInMemory, spillThreshold = false, 0 }()
		return runCLI(t, nil, append([]string{"analyze"}, args...)...)
	}
	check := func(layout, in []string) {
		args := append(append([]string{}, layout...), in...)
		want, wantErr, wantCode := run(true, args)
		got, gotErr, gotCode := run(false, args)
		if got != want || gotCode != wantCode || gotErr != wantErr {
			t.Errorf("%v: spilled output differs (exit %d, want %d; stderr %q, want %q):\n%s",
				args, gotCode, wantCode, gotErr, wantErr, firstDiff(want, got))
		}
	}
	for _, layout := range layouts {
		check(layout, files)
	}
	// Each capture alone, in the layouts that differ per input.
	for _, f := range files {
		check(layouts[1], []string{f})
		check(layouts[len(layouts)-1], []string{f})
	}
}
