//go:build linux

package cli

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/connscope/connscope/diagnose"
)

// TestLiveNDJSONBeginsWithRules: a live capture's NDJSON stream begins,
// like a file's, with the rules record, before any connection is seen.
func TestLiveNDJSONBeginsWithRules(t *testing.T) {
	if testing.Short() {
		t.Skip("live capture")
	}
	if os.Geteuid() != 0 {
		t.Skip("live capture needs root (CI runs as root)")
	}
	out, stderr, code := runCLI(t, nil, "analyze", "-i", "lo", "--duration", "100ms", "-f", "ndjson", "--disable", "CT", "tcp port 9")
	if code != ExitOK {
		t.Skipf("live capture on lo unavailable here: exit %d: %s", code, stderr)
	}
	first, _, _ := strings.Cut(out, "\n")
	var rec rulesRecord
	if err := json.Unmarshal([]byte(first), &rec); err != nil || rec.Type != "rules" {
		t.Fatalf("first line %q: %v, want a rules record", first, err)
	}
	var ct []string
	for _, r := range diagnose.Rules() {
		if strings.HasPrefix(r.ID, "CT") {
			ct = append(ct, r.ID)
		}
	}
	if !slices.Equal(rec.Disabled, ct) {
		t.Errorf("disabled %v, want the CT rules %v", rec.Disabled, ct)
	}
}
