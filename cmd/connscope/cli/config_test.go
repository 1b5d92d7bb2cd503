package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigEmptyFailOn: "fail_on": "" in a config file is the mistake
// an empty --fail-on is (a template whose variable was empty), not "no gate":
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

// TestImplicitConfigIsAnnounced: a .connscope.json found in the working
// directory changes the analysis without being named on the command line,
// so stderr says once which file was read (a CI log then shows where the
// thresholds came from). stdout is byte for byte what naming the file
// with --config gives; --config itself, or no file, prints nothing.
func TestImplicitConfigIsAnnounced(t *testing.T) {
	capture, err := filepath.Abs(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Chdir(dir)
	if _, stderr, code := runCLI(t, nil, "analyze", "-f", "json", capture); code != ExitOK || stderr != "" {
		t.Fatalf("no config file: exit %d, stderr %q, want 0 and nothing", code, stderr)
	}
	body := `{"disable": ["CH1004"], "thresholds": {"CH1009.max-connections": 8}}`
	if err := os.WriteFile(filepath.Join(dir, configFileName), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"json", "text", "ndjson"} {
		implicit, stderr, code := runCLI(t, nil, "analyze", "-f", format, capture)
		if code != ExitOK {
			t.Fatalf("%s: exit %d (%s)", format, code, stderr)
		}
		if strings.Count(stderr, configFileName) != 1 || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: stderr %q, want one line naming %s", format, stderr, configFileName)
		}
		if abs := filepath.Join(dir, configFileName); !strings.Contains(stderr, abs) {
			t.Errorf("%s: stderr %q does not give the file's path %s", format, stderr, abs)
		}
		named, stderr, code := runCLI(t, nil, "analyze", "-f", format, "--config", configFileName, capture)
		if code != ExitOK || stderr != "" {
			t.Errorf("%s with --config: exit %d, stderr %q, want 0 and nothing", format, code, stderr)
		}
		if implicit != named {
			t.Errorf("%s: stdout with the implicit config differs from --config's:\n%s", format, firstDiff(named, implicit))
		}
	}
}
