package cli

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden report files in testdata/golden-cli")

// goldenCaptures are rendered as text (no colour), JSON and NDJSON and
// compared with testdata/golden-cli/NAME.{txt,json,ndjson}. Review the diff
// of every -update: it is the user-visible output.
var goldenCaptures = []string{
	"keepalive-reuse.pcap",
	"conn-per-request.pcap",
	"nagle-stall-client.pcap",
	"pipeline-get.pcap",
	"truncated-rst.pcap",
	"tuple-reuse-fin.pcap",
}

func TestGoldenReports(t *testing.T) {
	for _, name := range goldenCaptures {
		capturePath := filepath.Join("..", "..", "..", "testdata", "captures", name)
		for _, tc := range []struct {
			ext  string
			args []string
		}{
			{"txt", []string{"analyze", "--color", "never", "--show", "all", "--all-findings", capturePath}},
			{"json", []string{"analyze", "--format", "json", capturePath}},
			{"ndjson", []string{"analyze", "--format", "ndjson", capturePath}},
		} {
			t.Run(name+"."+tc.ext, func(t *testing.T) {
				out, stderr, code := runCLI(t, nil, tc.args...)
				if code != ExitOK {
					t.Fatalf("exit %d: %s", code, stderr)
				}
				golden := filepath.Join("..", "..", "..", "testdata", "golden-cli", name+"."+tc.ext)
				if *update {
					if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
						t.Fatal(err)
					}
					return
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd/connscope/cli -run TestGoldenReports -update)", err)
				}
				if out != string(want) {
					t.Errorf("%s differs from the golden file (rerun with -update and review the diff):\n%s", golden, firstDiff(string(want), out))
				}
			})
		}
	}
}

// firstDiff shows the first line where want and got part.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n  want: " + wl + "\n   got: " + gl
		}
	}
	return ""
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
