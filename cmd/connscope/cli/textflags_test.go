package cli

import (
	"strings"
	"testing"
)

// TestTextOnlyFlagsRefuseOtherFormats: --show, --all-findings and --color
// always shape the text report only. With another format they used to be ignored without a
// word (--show summary -f json still wrote every connection); now they are
// usage errors naming the flag and the format, as --conn already was.
func TestTextOnlyFlagsRefuseOtherFormats(t *testing.T) {
	for _, format := range []string{"json", "ndjson", "har", "html", "junit"} {
		for _, flag := range [][]string{{"--show", "summary"}, {"--show", "all"}, {"--all-findings"}, {"--all-findings=false"}, {"--color", "always"}} {
			args := append(append([]string{"analyze", "--format", format}, flag...), keepAlive)
			out, stderr, code := runCLI(t, nil, args...)
			name, _, _ := strings.Cut(flag[0], "=")
			if code != ExitUsage || !strings.Contains(stderr, name) || !strings.Contains(stderr, format) {
				t.Errorf("%v: exit %d, stderr %q: want %d naming %s and %s", args[1:], code, stderr, ExitUsage, name, format)
			}
			if out != "" {
				t.Errorf("%v: wrote a report after a usage error", args[1:])
			}
		}
	}
	// With the text format (given or by default) they still apply; --color
	// never and auto ask for nothing another format lacks.
	for _, args := range [][]string{
		{"analyze", "--show", "summary", "--all-findings", keepAlive},
		{"analyze", "-f", "text", "--show", "findings", "--color", "always", keepAlive},
		{"analyze", "-f", "json", "--color", "never", keepAlive},
		{"analyze", "-f", "html", "--color=auto", keepAlive},
	} {
		if _, stderr, code := runCLI(t, nil, args...); code != ExitOK {
			t.Errorf("%v: exit %d (%s)", args[1:], code, stderr)
		}
	}
}
