package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigEmptyFailOn: "fail_on": "" in a config file is the mistake
// --fail-on '' is (a template whose variable was empty), not "no gate":
// a usage error naming the file. An unusable fail_on in the file is an
// error even when --fail-on overrides it, as a bad threshold in the file
// is: whether the file is valid does not depend on the command line.
func TestConfigEmptyFailOn(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ci.json")
	for _, tc := range []struct {
		desc, body string
		args       []string
		want       int
		wantErr    []string
	}{
		{desc: "empty", body: `{"fail_on": ""}`, want: ExitUsage, wantErr: []string{cfg, "fail_on", "empty"}},
		{desc: "blank", body: `{"fail_on": "  "}`, want: ExitUsage, wantErr: []string{cfg, "fail_on", "empty"}},
		{desc: "empty under --fail-on", body: `{"fail_on": ""}`, args: []string{"--fail-on", "error"}, want: ExitUsage, wantErr: []string{cfg, "fail_on"}},
		{desc: "unknown under --fail-on", body: `{"fail_on": "fatal"}`, args: []string{"--fail-on", "error"}, want: ExitUsage, wantErr: []string{cfg, "fatal"}},
		{desc: "absent", body: `{}`, want: ExitOK},
		{desc: "null is absent", body: `{"fail_on": null}`, want: ExitOK},
		{desc: "set", body: `{"fail_on": "info"}`, want: ExitFindings},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			if err := os.WriteFile(cfg, []byte(tc.body), 0o644); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"analyze", "--config", cfg}, tc.args...), rstDown)
			_, stderr, code := runCLI(t, nil, args...)
			if code != tc.want {
				t.Fatalf("%s: exit %d, want %d (%s)", tc.body, code, tc.want, stderr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(stderr, w) {
					t.Errorf("%s: stderr %q does not name %q", tc.body, stderr, w)
				}
			}
		})
	}
}
