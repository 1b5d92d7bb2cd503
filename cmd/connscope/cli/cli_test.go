package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/diagnose"
)

const (
	keepAlive = "../../../testdata/captures/keepalive-reuse.pcap"
	rstDown   = "../../../testdata/captures/rst-teardown.pcap"
)

// run runs the CLI in process and returns stdout, stderr and the exit code.
func runCLI(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(args, IO{Stdin: bytes.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return out.String(), errb.String(), code
}

func TestExitCodes(t *testing.T) {
	notCapture := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(notCapture, []byte("hello, this is not a capture\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		desc string
		args []string
		want int
	}{
		{"clean run", []string{"analyze", keepAlive}, ExitOK},
		{"no command", nil, ExitUsage},
		{"unknown command", []string{"frobnicate"}, ExitUsage},
		{"no input", []string{"analyze"}, ExitUsage},
		{"unknown flag", []string{"analyze", "--bogus", keepAlive}, ExitUsage},
		{"bad format", []string{"analyze", "--format", "yaml", keepAlive}, ExitUsage},
		{"bad fail-on", []string{"analyze", "--fail-on", "fatal", keepAlive}, ExitUsage},
		{"unknown rule", []string{"analyze", "--disable", "XX9999", keepAlive}, ExitUsage},
		{"bad threshold", []string{"analyze", "--threshold", "nonsense", keepAlive}, ExitUsage},
		{"missing file", []string{"analyze", "/nonexistent/x.pcap"}, ExitFailure},
		{"not a capture", []string{"analyze", notCapture}, ExitFailure},
		{"explain unknown rule", []string{"explain", "XX9999"}, ExitUsage},
		{"version", []string{"--version"}, ExitOK},
		{"help", []string{"--help"}, ExitOK},
		{"analyze help", []string{"analyze", "--help"}, ExitOK},
		{"rules", []string{"rules"}, ExitOK},
		// rules lists them all; one rule's text is explain's: an argument
		// silently ignored would print the whole list as if it answered.
		{"rules with a rule named", []string{"rules", "CH1009"}, ExitUsage},
		// --enable "$RULES" with RULES unset would otherwise run no rule at
		// all and pass every --fail-on gate.
		{"empty --enable", []string{"analyze", "--enable", "", "--fail-on", "warning", keepAlive}, ExitUsage},
		{"--enable of commas only", []string{"analyze", "--enable", " , ", keepAlive}, ExitUsage},
		// Likewise --fail-on "$LEVEL" with LEVEL unset: not a gate turned off.
		{"empty --fail-on", []string{"analyze", "--fail-on", "", rstDown}, ExitUsage},
		{"empty --baseline", []string{"analyze", "--baseline", "", "--fail-on", "info", rstDown}, ExitUsage},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			_, stderr, code := runCLI(t, nil, tc.args...)
			if code != tc.want {
				t.Errorf("connscope %s: exit %d, want %d (stderr: %s)", strings.Join(tc.args, " "), code, tc.want, stderr)
			}
		})
	}
}

func TestNotACaptureNamesTheFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(name, []byte("GET / HTTP/1.1\r\n\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, nil, "analyze", name)
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d", code, ExitFailure)
	}
	if !strings.Contains(stderr, name) || !strings.Contains(stderr, "offset") {
		t.Errorf("error %q should name the file and the offset", stderr)
	}
	if !strings.Contains(out, name) {
		t.Errorf("the report should still name the unreadable input:\n%s", out)
	}
}

// TestFailOn checks every --fail-on level against a capture with known
// findings: the exit code is 3 exactly when a finding at or above the level
// exists.
func TestFailOn(t *testing.T) {
	out, _, code := runCLI(t, nil, "analyze", "--format", "json", rstDown)
	if code != ExitOK {
		t.Fatalf("analyze exit %d", code)
	}
	var r analysis.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, f := range r.Findings {
		has[f.Severity] = true
	}
	if len(has) == 0 {
		t.Fatalf("%s has no findings; the test needs a capture with some", rstDown)
	}
	atOrAbove := map[string][]string{
		"info":    {"info", "warning", "error"},
		"warning": {"warning", "error"},
		"error":   {"error"},
	}
	for level, sevs := range atOrAbove {
		want := ExitOK
		for _, s := range sevs {
			if has[s] {
				want = ExitFindings
			}
		}
		_, stderr, code := runCLI(t, nil, "analyze", "--fail-on", level, rstDown)
		if code != want {
			t.Errorf("--fail-on %s: exit %d, want %d (severities present: %v; stderr %s)", level, code, want, has, stderr)
		}
	}
	// A healthy capture never trips the gate.
	if _, _, code := runCLI(t, nil, "analyze", "--fail-on", "info", keepAlive); code != ExitOK {
		t.Errorf("--fail-on info on a healthy capture: exit %d, want 0", code)
	}
}

func TestBaselineAbsorbsKnownFindings(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.json")
	if _, _, code := runCLI(t, nil, "analyze", "--format", "json", "-o", base, rstDown); code != ExitOK {
		t.Fatalf("writing baseline: exit %d", code)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--fail-on", "info", rstDown); code != ExitFindings {
		t.Fatalf("without baseline: exit %d, want %d", code, ExitFindings)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--fail-on", "info", "--baseline", base, rstDown); code != ExitOK {
		t.Errorf("with its own report as baseline: exit %d, want 0 (%s)", code, stderr)
	}
	// A baseline from a healthy capture absorbs nothing.
	healthy := filepath.Join(dir, "healthy.json")
	runCLI(t, nil, "analyze", "--format", "json", "-o", healthy, keepAlive)
	if _, _, code := runCLI(t, nil, "analyze", "--fail-on", "info", "--baseline", healthy, rstDown); code != ExitFindings {
		t.Errorf("with an unrelated baseline: exit %d, want %d", code, ExitFindings)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--baseline", filepath.Join(dir, "missing.json"), rstDown); code != ExitUsage {
		t.Errorf("missing baseline file: exit %d, want %d", code, ExitUsage)
	}
}

// TestBaselineTellsServersApartInCaptureFindings: a capture-wide finding
// (CH1009, too many parallel connections to one server) names its server
// through the connections it lists, not through a connection of its own; a
// baseline finding about another server must not absorb it.
func TestBaselineTellsServersApartInCaptureFindings(t *testing.T) {
	const parallel = "../../../testdata/captures/parallel-12.pcap"
	out, _, _ := runCLI(t, nil, "analyze", "--format", "json", "--enable", "CH1009", parallel)
	var r analysis.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != 1 || r.Findings[0].Connection != 0 || len(r.Connections) == 0 {
		t.Fatalf("want one capture-wide CH1009 finding; the capture or the rule changed: %+v", r.Findings)
	}
	server := r.Connections[0].Server
	dir := t.TempDir()
	same, other := filepath.Join(dir, "same.json"), filepath.Join(dir, "other.json")
	if err := os.WriteFile(same, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same report, as if recorded against another server.
	moved := strings.ReplaceAll(out, `"`+server+`"`, `"192.0.2.99:8080"`)
	if moved == out {
		t.Fatalf("server %s not found in the report", server)
	}
	if err := os.WriteFile(other, []byte(moved), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--enable", "CH1009", "--fail-on", "warning", "--baseline", same, parallel); code != ExitOK {
		t.Errorf("baseline with the same finding: exit %d, want %d (%s)", code, ExitOK, stderr)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--enable", "CH1009", "--fail-on", "warning", "--baseline", other, parallel); code != ExitFindings {
		t.Errorf("baseline whose finding is about another server: exit %d, want %d", code, ExitFindings)
	}
}

func TestDisableSilencesRule(t *testing.T) {
	out, _, _ := runCLI(t, nil, "analyze", "--format", "json", rstDown)
	var r analysis.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 {
		t.Fatal("need findings")
	}
	rule := r.Findings[0].Rule
	out, _, _ = runCLI(t, nil, "analyze", "--format", "json", "--disable", rule, rstDown)
	var r2 analysis.Report
	if err := json.Unmarshal([]byte(out), &r2); err != nil {
		t.Fatal(err)
	}
	for _, f := range r2.Findings {
		if f.Rule == rule {
			t.Errorf("--disable %s: rule still reported", rule)
		}
	}
	out, _, _ = runCLI(t, nil, "analyze", "--format", "json", "--enable", rule, rstDown)
	var r3 analysis.Report
	if err := json.Unmarshal([]byte(out), &r3); err != nil {
		t.Fatal(err)
	}
	if len(r3.Findings) == 0 {
		t.Errorf("--enable %s: no findings", rule)
	}
	for _, f := range r3.Findings {
		if f.Rule != rule {
			t.Errorf("--enable %s: rule %s also reported", rule, f.Rule)
		}
	}
}

func TestConfigFile(t *testing.T) {
	out, _, _ := runCLI(t, nil, "analyze", "--format", "json", rstDown)
	var r analysis.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) == 0 {
		t.Fatal("need findings")
	}
	cfg := filepath.Join(t.TempDir(), "c.json")
	body := `{"disable": ["all"], "fail_on": "info"}`
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, rstDown); code != ExitOK {
		t.Errorf("config disabling all rules: exit %d, want 0 (%s)", code, stderr)
	}
	if err := os.WriteFile(cfg, []byte(`{"fail_on": "info"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--config", cfg, rstDown); code != ExitFindings {
		t.Errorf("config with fail_on info: exit %d, want %d", code, ExitFindings)
	}
	if err := os.WriteFile(cfg, []byte(`{"fail_in": "info"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, code := runCLI(t, nil, "analyze", "--config", cfg, rstDown); code != ExitUsage {
		t.Errorf("config with an unknown key: exit %d, want %d", code, ExitUsage)
	}
	// An enable list that names nothing is a mistake, not "run no rule".
	if err := os.WriteFile(cfg, []byte(`{"enable": [""], "fail_on": "info"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, rstDown); code != ExitUsage || !strings.Contains(stderr, cfg) {
		t.Errorf("config whose enable list is empty strings: exit %d (want %d), stderr %q naming the file", code, ExitUsage, stderr)
	}
	// A threshold the rules do not have: the message names the file it
	// came from, as it does for fail_on and rule selection.
	if err := os.WriteFile(cfg, []byte(`{"thresholds": {"CH1009.max-conections": 8}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, rstDown); code != ExitUsage || !strings.Contains(stderr, cfg) ||
		!strings.Contains(stderr, "max-conections") {
		t.Errorf("config with an unknown threshold: exit %d (want %d), stderr %q: want the file and the threshold named", code, ExitUsage, stderr)
	}
	// A min-X on the command line may lean on the file's max-X.
	if err := os.WriteFile(cfg, []byte(`{"thresholds": {"CH1007.max-gap": 10000}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, "--threshold", "CH1007.min-gap=5000", rstDown); code != ExitOK {
		t.Errorf("min-gap from the flag under max-gap from the file: exit %d, want %d (%s)", code, ExitOK, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--threshold", "CH1007.min-gap=5000", rstDown); code != ExitUsage || !strings.Contains(stderr, "max-gap") {
		t.Errorf("min-gap above the default max-gap: exit %d, want %d, stderr %q naming max-gap", code, ExitUsage, stderr)
	}
	// The flag wins over the file even when they spell the rule differently
	// (slug in the file, ID on the command line).
	const serial = "../../../testdata/captures/serial-idle-gaps.pcap"
	if err := os.WriteFile(cfg, []byte(`{"thresholds": {"serial-idle-gaps.min-gap": 1900}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, "--enable", "CH1007", "--fail-on", "info", serial); code != ExitOK {
		t.Fatalf("CH1007 with min-gap 1900 ms from the file: exit %d, want %d, no gap that long (%s)", code, ExitOK, stderr)
	}
	if _, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, "--threshold", "CH1007.min-gap=100", "--enable", "CH1007", "--fail-on", "info", serial); code != ExitFindings {
		t.Errorf("CH1007.min-gap=100 over the file's serial-idle-gaps.min-gap: exit %d, want %d: the flag must win (%s)", code, ExitFindings, stderr)
	}
	// The same mistake on the command line names no file.
	if _, stderr, code := runCLI(t, nil, "analyze", "--threshold", "CH1009.max-conections=8", rstDown); code != ExitUsage ||
		strings.Contains(stderr, ".json") || !strings.Contains(stderr, "--threshold") {
		t.Errorf("unknown --threshold: exit %d (want %d), stderr %q: want the flag named, no file", code, ExitUsage, stderr)
	}
}

func TestJSONIsDeterministic(t *testing.T) {
	for _, f := range []string{keepAlive, rstDown} {
		a, _, _ := runCLI(t, nil, "analyze", "--format", "json", f)
		b, _, _ := runCLI(t, nil, "analyze", "--format", "json", f)
		if a != b {
			t.Errorf("%s: two runs gave different JSON", f)
		}
		var r analysis.Report
		if err := json.Unmarshal([]byte(a), &r); err != nil {
			t.Fatalf("%s: invalid JSON: %v", f, err)
		}
		if r.Schema != analysis.Schema {
			t.Errorf("schema %q", r.Schema)
		}
	}
}

func TestStdinMatchesFile(t *testing.T) {
	data, err := os.ReadFile(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, _ := runCLI(t, nil, "analyze", "--format", "json", keepAlive)
	fromStdin, _, code := runCLI(t, data, "analyze", "--format", "json", "-")
	if code != ExitOK {
		t.Fatalf("stdin: exit %d", code)
	}
	// Only the input name differs.
	fromStdin = strings.Replace(fromStdin, `"name": "-"`, `"name": "`+keepAlive+`"`, 1)
	if fromFile != fromStdin {
		t.Error("reading standard input gave a different report from reading the file")
	}
}

// TestDamagedStdinSaysStandardInput: an error in standard input names it
// in words, not as "-: frame N ...", which reads like a stray dash.
func TestDamagedStdinSaysStandardInput(t *testing.T) {
	data, err := os.ReadFile(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, data[:len(data)-100], "analyze", "-")
	if code != ExitFailure {
		t.Fatalf("exit %d, want %d", code, ExitFailure)
	}
	if !strings.Contains(stderr, "connscope: standard input: frame ") {
		t.Errorf("error %q should name standard input and the frame", stderr)
	}
}

func TestSeveralInputsHaveUniqueIDs(t *testing.T) {
	out, _, code := runCLI(t, nil, "analyze", "--format", "json", keepAlive, "-r", rstDown)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var r analysis.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Inputs) != 2 {
		t.Fatalf("%d inputs, want 2", len(r.Inputs))
	}
	seen := map[int]bool{}
	for _, c := range r.Connections {
		if seen[c.ID] {
			t.Errorf("connection ID %d used twice", c.ID)
		}
		seen[c.ID] = true
	}
	for _, tx := range r.Transactions {
		if !seen[tx.Connection] {
			t.Errorf("transaction %d names unknown connection %d", tx.ID, tx.Connection)
		}
	}
	text, _, _ := runCLI(t, nil, "analyze", "--color", "never", keepAlive, rstDown)
	if strings.Count(text, "Capture ") != 2 {
		t.Errorf("text report should have one section per input:\n%s", text)
	}
}

func TestColor(t *testing.T) {
	never, _, _ := runCLI(t, nil, "analyze", "--color", "never", rstDown)
	always, _, _ := runCLI(t, nil, "analyze", "--color", "always", rstDown)
	auto, _, _ := runCLI(t, nil, "analyze", rstDown)
	if strings.Contains(never, "\x1b[") {
		t.Error("--color never wrote escape sequences")
	}
	if !strings.Contains(always, "\x1b[") {
		t.Error("--color always wrote no escape sequences")
	}
	if strings.Contains(auto, "\x1b[") {
		t.Error("--color auto coloured output that is not a terminal")
	}
}

func TestRulesAndExplain(t *testing.T) {
	out, _, code := runCLI(t, nil, "rules", "--format", "json")
	if code != ExitOK {
		t.Fatalf("rules: exit %d", code)
	}
	var list struct {
		Rules []ruleJSON `json:"rules"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Rules) == 0 {
		t.Fatal("no rules listed")
	}
	for _, r := range list.Rules {
		text, _, code := runCLI(t, nil, "explain", r.ID)
		if code != ExitOK || !strings.Contains(text, r.Slug) || !strings.Contains(text, "How to fix it") {
			t.Errorf("explain %s: exit %d, output %q", r.ID, code, text)
		}
		bySlug, _, _ := runCLI(t, nil, "explain", r.Slug)
		if bySlug != text {
			t.Errorf("explain %s and explain %s differ", r.ID, r.Slug)
		}
	}
}

// Invalid bytes in a long target show as \xNN escapes, not U+FFFD,
// also when the target is cut to fit the table.
func TestTableKeepsEscapesVisible(t *testing.T) {
	got := txnRequestCell("GET", "/\x9b"+strings.Repeat("a", 80))
	if strings.ContainsRune(got, '\uFFFD') || !strings.Contains(got, `\x9b`) {
		t.Errorf("request cell %q should show the invalid byte as \\x9b", got)
	}
}

// TestAnalyzeHelpNamesValues: every flag that takes a value shows a
// placeholder that says what to give (the names README.md uses), never
// pflag's type name ("string", "duration") or a phrase lifted from the
// text, and no stray backquote.
func TestAnalyzeHelpNamesValues(t *testing.T) {
	out, _, code := runCLI(t, nil, "analyze", "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"--bpf-file FILE ", "--color WHEN ", "--progress WHEN ", "--show LIST ",
		"--duration D ", "--idle-timeout D ", "--format FORMAT ", "--conn ID ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("analyze --help lacks %q", want)
		}
	}
	typeName := regexp.MustCompile(`--[a-z-]+ (string|strings|stringArray|duration|int|uint64) `)
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "`") || typeName.MatchString(line) {
			t.Errorf("help line shows a type name or a backquote: %q", line)
		}
	}
}

// TestConnNotListedSaysSo: --conn on a connection that exists but was left
// out of the listing by --max-listed-conns says so and names the flag,
// rather than "no such connection".
func TestConnNotListedSaysSo(t *testing.T) {
	capturePath := filepath.Join("..", "..", "..", "testdata", "captures", "parallel-6.pcap")
	_, stderr, code := runCLI(t, nil, "analyze", "--max-listed-conns", "1", "--conn", "3", capturePath)
	if code != ExitUsage {
		t.Errorf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(stderr, "connection 3 is not listed") || !strings.Contains(stderr, "--max-listed-conns") {
		t.Errorf("error %q should say connection 3 exists but is not listed, and name --max-listed-conns", stderr)
	}
	_, stderr, _ = runCLI(t, nil, "analyze", "--conn", "7", capturePath)
	if !strings.Contains(stderr, "no such connection (the report has 6)") {
		t.Errorf("error %q should say there is no connection 7 among 6", stderr)
	}
}

// TestFailOnFromConfigDrivesJUnit: fail_on in the config file sets the
// JUnit report's failing cases exactly as --fail-on does, so the report
// and the exit code agree, and the exit message names where the severity
// came from. The capture has warnings and an info finding: with fail_on
// warning the info finding must not be a failure.
func TestFailOnFromConfigDrivesJUnit(t *testing.T) {
	capturePath := filepath.Join("..", "..", "..", "testdata", "captures", "nagle-stall-client.pcap")
	cfg := filepath.Join(t.TempDir(), "connscope.json")
	if err := os.WriteFile(cfg, []byte(`{"fail_on": "error"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	byFlag, _, flagCode := runCLI(t, nil, "analyze", "-f", "junit", "--fail-on", "error", capturePath)
	byConfig, stderr, configCode := runCLI(t, nil, "analyze", "-f", "junit", "--config", cfg, capturePath)
	if byFlag != byConfig || flagCode != configCode {
		t.Errorf("fail_on in the config (exit %d) and --fail-on (exit %d) give different JUnit reports:\nflag:\n%s\nconfig:\n%s",
			configCode, flagCode, byFlag, byConfig)
	}
	if !strings.Contains(byConfig, `failures="0"`) {
		t.Errorf("no finding of the capture is an error, yet the JUnit report has failures:\n%s", byConfig)
	}
	if configCode != ExitOK {
		t.Errorf("exit %d, want %d; stderr %q", configCode, ExitOK, stderr)
	}
	if err := os.WriteFile(cfg, []byte(`{"fail_on": "warning"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := runCLI(t, nil, "analyze", "--config", cfg, capturePath)
	if code != ExitFindings || !strings.Contains(stderr, "fail_on in "+cfg) {
		t.Errorf("exit %d, stderr %q: want exit %d and a message naming fail_on in %s", code, stderr, ExitFindings, cfg)
	}
}

// TestBaselineFindingsPassInJUnit: with --baseline, findings the baseline
// already has do not count for --fail-on, and the JUnit report agrees: they
// are no failing cases, but are still listed in their rule's output.
func TestBaselineFindingsPassInJUnit(t *testing.T) {
	capturePath := filepath.Join("..", "..", "..", "testdata", "captures", "nagle-stall-client.pcap")
	base := filepath.Join(t.TempDir(), "base.json")
	if _, stderr, code := runCLI(t, nil, "analyze", "-f", "json", "-o", base, capturePath); code != ExitOK {
		t.Fatalf("writing the baseline: exit %d: %s", code, stderr)
	}
	without, _, code := runCLI(t, nil, "analyze", "-f", "junit", "--fail-on", "warning", capturePath)
	if code != ExitFindings || !strings.Contains(without, "<failure") {
		t.Fatalf("the capture should have warnings (exit %d):\n%s", code, without)
	}
	with, stderr, code := runCLI(t, nil, "analyze", "-f", "junit", "--fail-on", "warning", "--baseline", base, capturePath)
	if code != ExitOK {
		t.Errorf("exit %d with every finding in the baseline, want %d: %s", code, ExitOK, stderr)
	}
	if strings.Contains(with, "<failure") {
		t.Errorf("a finding in the baseline is a failing case:\n%s", with)
	}
	if !strings.Contains(with, "already in the baseline") || !strings.Contains(with, "CT1007") {
		t.Errorf("the findings in the baseline should be listed as such:\n%s", with)
	}
}

// TestJUnitWithEveryRuleDisabledListsNone: --disable all leaves no rule
// running, so the JUnit report has no suite at all; a disabled rule must
// not show up as a passing one.
func TestJUnitWithEveryRuleDisabledListsNone(t *testing.T) {
	capturePath := filepath.Join("..", "..", "..", "testdata", "captures", "nagle-stall-client.pcap")
	out, stderr, code := runCLI(t, nil, "analyze", "-f", "junit", "--disable", "all", capturePath)
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Contains(out, "<testsuite ") || !strings.Contains(out, `tests="0"`) {
		t.Errorf("every rule was disabled, yet the JUnit report lists suites:\n%s", out)
	}
	// One rule left on: exactly its suite.
	out, _, _ = runCLI(t, nil, "analyze", "-f", "junit", "--enable", "CC1001", capturePath)
	if n := strings.Count(out, "<testsuite "); n != 1 || !strings.Contains(out, `<testsuite name="CC1001 truncated-body"`) {
		t.Errorf("--enable CC1001 gave %d suites:\n%s", n, out)
	}
}

// TestBaselineOfAnotherFormatIsNamed: a --baseline that is not a JSON
// report (a HAR or NDJSON report, a JSON array) is a usage error that says
// which report --baseline wants, without Go's decoder vocabulary.
func TestBaselineOfAnotherFormatIsNamed(t *testing.T) {
	capturePath := filepath.Join("..", "..", "..", "testdata", "captures", "basic.pcapng")
	dir := t.TempDir()
	for _, format := range []string{"har", "ndjson"} {
		name := filepath.Join(dir, "base."+format)
		if _, stderr, code := runCLI(t, nil, "analyze", "-f", format, "-o", name, capturePath); code != ExitOK {
			t.Fatalf("writing the %s report: exit %d: %s", format, code, stderr)
		}
		assertBaselineRefused(t, name, capturePath)
	}
	array := filepath.Join(dir, "array.json")
	if err := os.WriteFile(array, []byte("[]"), 0o644); err != nil {
		t.Fatal(err)
	}
	assertBaselineRefused(t, array, capturePath)
}

func assertBaselineRefused(t *testing.T, baseline, capturePath string) {
	t.Helper()
	_, stderr, code := runCLI(t, nil, "analyze", "--baseline", baseline, capturePath)
	if code != ExitUsage {
		t.Errorf("--baseline %s: exit %d, want %d", baseline, code, ExitUsage)
	}
	if !strings.Contains(stderr, "not a connscope JSON report") || !strings.Contains(stderr, "-f json") ||
		strings.Contains(stderr, "Go value") || strings.Contains(stderr, `schema ""`) {
		t.Errorf("--baseline %s: error %q should say it is not a JSON report and how to write one", baseline, stderr)
	}
}

// TestConnBelowOneIsAUsageError: connection IDs start at 1, so --conn 0
// or a negative ID names no connection; it is refused before any capture
// is read instead of being taken for "no timeline" and printing the
// ordinary report.
func TestConnBelowOneIsAUsageError(t *testing.T) {
	capturePath := filepath.Join("..", "..", "..", "testdata", "captures", "keepalive-reuse.pcap")
	for _, id := range []string{"0", "-2"} {
		stdout, stderr, code := runCLI(t, nil, "analyze", "--conn", id, capturePath)
		if code != ExitUsage {
			t.Errorf("--conn %s: exit %d, want %d", id, code, ExitUsage)
		}
		if stdout != "" {
			t.Errorf("--conn %s: printed a report: %q", id, stdout)
		}
		if !strings.Contains(stderr, "--conn "+id) || !strings.Contains(stderr, "from 1") {
			t.Errorf("--conn %s: error %q should name the flag and say IDs start from 1", id, stderr)
		}
	}
}

// TestUsageErrorPointsAtTheCommandsHelp: a mistake in a command's flags
// points at that command's --help, which lists them, not the top-level
// help, which does not.
func TestUsageErrorPointsAtTheCommandsHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "--bogus", keepAlive}, "Run 'connscope analyze --help' for usage."},
		{[]string{"analyse", "--format", "yaml", keepAlive}, "Run 'connscope analyze --help' for usage."},
		{[]string{"rules", "--bogus"}, "Run 'connscope rules --help' for usage."},
		{[]string{"explain"}, "Run 'connscope explain --help' for usage."},
		{[]string{"frobnicate"}, "Run 'connscope --help' for usage."},
	} {
		_, stderr, code := runCLI(t, nil, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}

// TestOutputNamingAnInputIsRefused: -o naming one of the inputs (by any
// path) would truncate the capture before it is read; analyze refuses
// with a usage error and leaves the file alone.
func TestOutputNamingAnInputIsRefused(t *testing.T) {
	data, err := os.ReadFile(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	capturePath := filepath.Join(dir, "capture.pcap")
	if err := os.WriteFile(capturePath, data, 0o644); err != nil {
		t.Fatal(err)
	}
	sameFile := filepath.Join(dir, ".", "..", filepath.Base(dir), "capture.pcap")
	for _, args := range [][]string{
		{"analyze", "-f", "json", "-o", capturePath, capturePath},
		{"analyze", "-o", sameFile, keepAlive, capturePath},
		{"analyze", "--output", capturePath, "-r", capturePath},
	} {
		_, stderr, code := runCLI(t, nil, args...)
		if code != ExitUsage || !strings.Contains(stderr, "is also an input") {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and an error saying the output is an input", args, code, stderr, ExitUsage)
		}
		if got, err := os.ReadFile(capturePath); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%v: the capture was changed (%d bytes, %v)", args, len(got), err)
		}
	}
}

// TestErrorsOnStderrAreInert: a file name is printed in errors on stderr;
// one holding terminal escape sequences (a capture saved under a name
// someone else chose) is shown escaped there, as in the report, never
// sent to the terminal raw.
func TestErrorsOnStderrAreInert(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(dir, "evil\x1b]0;owned\x07\x1b[2J.pcap")
	if err := os.WriteFile(evil, data[:len(data)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"analyze", "-o", filepath.Join(dir, "out.txt"), evil},                   // damaged: exit 1
		{"analyze", "-o", filepath.Join(dir, "out.txt"), evil, evil},             // two damaged inputs: the first printed before the exit
		{"analyze", filepath.Join(dir, "missing\x1b[2J.pcap")},                   // cannot open: exit 1
		{"analyze", "--format", "x\x1b[2J", evil},                                // usage: exit 2
		{"analyze", "--fail-on", "info", "-o", filepath.Join(dir, "o"), rstDown}, // findings: exit 3
	} {
		_, stderr, _ := runCLI(t, nil, args...)
		if strings.ContainsAny(stderr, "\x1b\x07") {
			t.Errorf("%q: stderr carries raw control characters: %q", args, stderr)
		}
		if stderr == "" {
			t.Errorf("%q: nothing on stderr", args)
		}
	}
}

// TestBadValuesAreUsageErrorsInWords: a negative --idle-timeout is refused
// (it was silently taken for the default), and a threshold that is not a
// number says so in words, not in strconv's.
func TestBadValuesAreUsageErrorsInWords(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "--idle-timeout", "-5s", keepAlive}, "--idle-timeout -5s: want a positive duration"},
		{[]string{"analyze", "--threshold", "CH1009.max-connections=abc", keepAlive}, `--threshold "CH1009.max-connections=abc": "abc" is not a number`},
	} {
		_, stderr, code := runCLI(t, nil, tc.args...)
		if code != ExitUsage || !strings.Contains(stderr, tc.want) || strings.Contains(stderr, "strconv") {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, ExitUsage, tc.want)
		}
	}
}

// TestUsageErrorLeavesNoEmptyOutput: --conn naming no connection is found
// out only after the analysis, when -o's file exists; it must not be left
// behind empty, to be taken for a report.
func TestUsageErrorLeavesNoEmptyOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "timeline.txt")
	_, stderr, code := runCLI(t, nil, "analyze", "--conn", "99", "-o", out, keepAlive)
	if code != ExitUsage {
		t.Fatalf("exit %d (%s), want %d", code, stderr, ExitUsage)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s left behind after the usage error (stat: %v)", out, err)
	}
}

// TestStdinTwiceIsAUsageError: standard input can be read once; naming it
// twice used to analyse it, then fail on the second, empty read.
func TestStdinTwiceIsAUsageError(t *testing.T) {
	data, err := os.ReadFile(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"analyze", "-", "-"}, {"analyze", "-r", "-", "-"}} {
		_, stderr, code := runCLI(t, data, args...)
		if code != ExitUsage || !strings.Contains(stderr, "standard input (-) can be read only once") {
			t.Errorf("%q: exit %d, stderr %q; want a usage error", args, code, stderr)
		}
	}
}

// TestTextSaysWhenRulesWereLeftOut: "findings: none" from a run with rules
// disabled must not read as a clean capture.
func TestTextSaysWhenRulesWereLeftOut(t *testing.T) {
	total := len(diagnose.Rules())
	for _, tc := range []struct {
		args []string
		want string // in the findings line
		not  string
	}{
		{nil, "findings:", "rules ran"},
		{[]string{"--disable", "all"}, fmt.Sprintf("findings: none (0 of %d rules ran)", total), ""},
		{[]string{"--enable", "CC1001"}, fmt.Sprintf("findings: none (1 of %d rules ran)", total), ""},
		{[]string{"--disable", "CC1006"}, fmt.Sprintf("(%d of %d rules ran)", total-1, total), ""},
	} {
		out, stderr, code := runCLI(t, nil, append(append([]string{"analyze"}, tc.args...), rstDown)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d (%s)", tc.args, code, stderr)
		}
		var line string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "findings:") {
				line = l
				break
			}
		}
		if !strings.Contains(line, tc.want) || tc.not != "" && strings.Contains(line, tc.not) {
			t.Errorf("%v: findings line %q, want %q in it (and not %q)", tc.args, line, tc.want, tc.not)
		}
	}
}

// TestTextFindingCountsArePlural: "3 warnings", "2 errors", "1 warning";
// info is uncountable and stays "info".
func TestTextFindingCountsArePlural(t *testing.T) {
	var b bytes.Buffer
	ew := &errWriter{w: &b}
	p := newPalette("never", &b)
	var fs []*analysis.FindingReport
	for _, sev := range []string{"warning", "warning", "warning", "error", "error", "info", "info"} {
		fs = append(fs, &analysis.FindingReport{Severity: sev})
	}
	writeFindingSummary(ew, fs, p, "")
	writeFindingSummary(ew, fs[:1], p, "")
	want := "  findings: 2 errors, 3 warnings, 2 info\n  findings: 1 warning\n"
	if b.String() != want {
		t.Errorf("finding counts:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestTextCountsFindingsOnUnlistedConnections: with --max-listed-conns
// below the connection count, the text report shows the findings of the
// listed connections only; its findings line must say how many more there
// are, or it contradicts --fail-on's count and the JSON report.
func TestTextCountsFindingsOnUnlistedConnections(t *testing.T) {
	out, _, _ := runCLI(t, nil, "analyze", "--format", "json", rstDown)
	var r analysis.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	onOthers := 0
	for _, f := range r.Findings {
		if f.Connection != 1 {
			onOthers++
		}
	}
	if onOthers == 0 || onOthers == len(r.Findings) {
		t.Fatalf("need findings on connection 1 and on others; the capture changed: %d of %d", onOthers, len(r.Findings))
	}
	text, _, code := runCLI(t, nil, "analyze", "--max-listed-conns", "1", rstDown)
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	want := fmt.Sprintf("%d more on connections not listed", onOthers)
	if !strings.Contains(text, want) {
		t.Errorf("text report with 1 listed connection does not say %q:\n%s", want, text)
	}
	if full, _, _ := runCLI(t, nil, "analyze", rstDown); strings.Contains(full, "not listed") {
		t.Errorf("a report listing every connection mentions unlisted ones:\n%s", full)
	}
}
