package report

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestHARStructure(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHAR(&b, fixtureReport(), HAROptions{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range checkHAR(b.Bytes()) {
		t.Error(e)
	}
}

// TestHARPageNamesDamagedAndCappedInputs: a page (one per input) carries,
// in its comment, the input's error and the limits it reached, so a HAR
// file of a damaged or capped capture does not pass for a whole one; a
// clean input's page has no comment.
func TestHARPageNamesDamagedAndCappedInputs(t *testing.T) {
	r := withDamagedAndCappedInputs(fixtureReport(), "report lists at most 2 connections (--max-listed-conns)")
	var b bytes.Buffer
	if err := WriteHAR(&b, r, HAROptions{}); err != nil {
		t.Fatal(err)
	}
	for _, e := range checkHAR(b.Bytes()) {
		t.Error(e)
	}
	var doc struct {
		Log struct {
			Pages []struct {
				Title   string  `json:"title"`
				Comment *string `json:"comment"`
			} `json:"pages"`
		} `json:"log"`
	}
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	pages := doc.Log.Pages
	if len(pages) != 3 {
		t.Fatalf("%d pages, want 3", len(pages))
	}
	if c := pages[0].Comment; c == nil || !strings.Contains(*c, "--max-listed-conns") {
		t.Errorf("capped input's page comment %v, want the limit named", c)
	}
	if c := pages[1].Comment; c != nil {
		t.Errorf("clean input's page has comment %q", *c)
	}
	if c := pages[2].Comment; c == nil || !strings.Contains(*c, "frame 16 at byte offset 4772") {
		t.Errorf("damaged input's page comment %v, want the error", c)
	}
}

// TestHARCheckerCatchesViolations makes sure the checker is not a rubber
// stamp: each broken document must be reported.
func TestHARCheckerCatchesViolations(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHAR(&b, fixtureReport(), HAROptions{}); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for desc, broken := range map[string]string{
		"wrong version":      strings.Replace(good, `"version":"1.2"`, `"version":"1.1"`, 1),
		"time not the sum":   strings.Replace(good, `"time":11.6`, `"time":12`, 1),
		"negative wait":      strings.Replace(good, `"wait":10.5`, `"wait":-1`, 1),
		"missing cookies":    strings.Replace(good, `"cookies":[],`, ``, 1),
		"relative url":       strings.Replace(good, `"url":"http://example.test/index.html`, `"url":"/index.html`, 1),
		"bad date":           strings.Replace(good, `"startedDateTime":"2026-11-26T`, `"startedDateTime":"26/11/2026 `, 1),
		"status as a string": strings.Replace(good, `"status":200`, `"status":"200"`, 1),
	} {
		if broken == good {
			t.Fatalf("%s: the replacement did not apply; the fixture changed", desc)
		}
		if errs := checkHAR([]byte(broken)); len(errs) == 0 {
			t.Errorf("%s: checker found nothing wrong", desc)
		}
	}
}

func TestHARValues(t *testing.T) {
	var b bytes.Buffer
	if err := WriteHAR(&b, fixtureReport(), HAROptions{}); err != nil {
		t.Fatal(err)
	}
	var doc harDoc
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if n := len(doc.Log.Entries); n != 4 {
		t.Fatalf("%d entries, want one per transaction (4)", n)
	}
	e := doc.Log.Entries[0]
	if e.Request.URL != "http://example.test/index.html?lang=en&x=%20y" {
		t.Errorf("url %q: want Host header + target", e.Request.URL)
	}
	if got := e.Request.QueryString; len(got) != 2 || got[0] != (harNV{"lang", "en"}) || got[1] != (harNV{"x", " y"}) {
		t.Errorf("queryString %v", got)
	}
	if e.Timings.Connect != 1 || e.Timings.Send != 0 || e.Timings.Wait != 10.5 || e.Timings.Receive != 0.1 || e.Time != 11.6 {
		t.Errorf("timings %+v time %v", e.Timings, e.Time)
	}
	// The entry starts when the handshake started: request start - connect.
	if e.StartedDateTime != "2026-11-26T00:00:00.000200Z" {
		t.Errorf("startedDateTime %s", e.StartedDateTime)
	}
	if e.ServerIPAddress != "10.0.0.2" || e.Connection != "1" {
		t.Errorf("serverIPAddress %q connection %q", e.ServerIPAddress, e.Connection)
	}
	if e.Response.Content.MimeType != "text/html; charset=utf-8" || e.Response.BodySize != 1800 || e.Response.HeadersSize != 200 {
		t.Errorf("response %+v", e.Response)
	}

	hostile := doc.Log.Entries[1]
	if strings.ContainsAny(hostile.Request.URL, "<>\" \x00\x1b") {
		t.Errorf("url %q carries bytes a URL cannot hold", hostile.Request.URL)
	}
	if hostile.ServerIPAddress != "2001:db8::2" {
		t.Errorf("IPv6 serverIPAddress %q", hostile.ServerIPAddress)
	}
	if hostile.Response.RedirectURL != hostileJSURL {
		t.Errorf("redirectURL %q, want the Location header as captured", hostile.Response.RedirectURL)
	}
	if hostile.Timings.Connect != 20 || hostile.Comment == "" {
		t.Errorf("timings %+v comment %q", hostile.Timings, hostile.Comment)
	}
	if v := hostile.Request.Headers[1].Value; v != hostileScript+hostileControls {
		t.Errorf("header value %q: HAR keeps captured text as it was (JSON escapes it)", v)
	}

	reused := doc.Log.Entries[2]
	if reused.Timings.Connect != -1 {
		t.Errorf("a reused connection's entry has connect %v, want -1", reused.Timings.Connect)
	}
	noResponse := doc.Log.Entries[3]
	if noResponse.Response.Status != 0 || noResponse.Response.BodySize != -1 || noResponse.Time != 1001 {
		t.Errorf("no-response entry: status %d bodySize %d time %v", noResponse.Response.Status, noResponse.Response.BodySize, noResponse.Time)
	}
}

func TestHARURL(t *testing.T) {
	for _, tc := range []struct {
		desc, method, target, host, want string
	}{
		{"origin form", "GET", "/a?b=c", "h.test", "http://h.test/a?b=c"},
		{"absolute form", "GET", "http://proxy.test/x", "h.test", "http://proxy.test/x"},
		{"authority form", "CONNECT", "secure.test:443", "", "http://secure.test:443/"},
		{"asterisk form", "OPTIONS", "*", "h.test", "http://h.test/*"},
		{"no Host header", "GET", "/", "", "http://10.0.0.2:80/"},
		{"spaces and quotes", "GET", `/a b"c`, "h.test", "http://h.test/a%20b%22c"},
		{"bad escape and brackets", "GET", "/%zz[1]", "h.test", "http://h.test/%25zz%5B1%5D"},
		{"hostile Host", "GET", "/", "h\"><x", "http://10.0.0.2:80/"},
		{"hostile CONNECT", "CONNECT", "a b:1", "h.test", "http://h.test/"},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			tx := fixtureReport().Transactions[0]
			tx.Method, tx.Target, tx.RequestHeaders = tc.method, tc.target, nil
			if tc.host != "" {
				tx.RequestHeaders = append(tx.RequestHeaders, httpHeader("Host", tc.host))
			}
			c := fixtureReport().Connections[0]
			if got := harURL(tx, harConn{input: c.Input, server: c.Server}, true); got != tc.want {
				t.Errorf("harURL = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHARValidatorNPM has an independent reader check the output: the
// har-validator npm package (JSON Schema of HAR 1.2), installed into a
// temporary directory. Skipped without node and npm or when the registry
// cannot be reached.
func TestHARValidatorNPM(t *testing.T) {
	if testing.Short() {
		t.Skip("installs an npm package")
	}
	node, errNode := exec.LookPath("node")
	npm, errNPM := exec.LookPath("npm")
	if errNode != nil || errNPM != nil {
		t.Skip("node or npm not found; the Go checker (TestHARStructure) still ran")
	}
	dir := t.TempDir()
	install := exec.Command(npm, "install", "--no-audit", "--no-fund", "--silent", "--prefix", dir, "har-validator@5.1.5")
	if out, err := install.CombinedOutput(); err != nil {
		t.Skipf("npm install har-validator failed (no registry?): %v\n%s", err, out)
	}
	var b bytes.Buffer
	if err := WriteHAR(&b, fixtureReport(), HAROptions{}); err != nil {
		t.Fatal(err)
	}
	har := filepath.Join(dir, "fixture.har")
	if err := os.WriteFile(har, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	files := []string{har}
	for _, name := range realCaptures() {
		r := analyzeCaptureFile(t, name)
		var rb bytes.Buffer
		if err := WriteHAR(&rb, r, HAROptions{}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Base(name)+".har")
		if err := os.WriteFile(p, rb.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	script := `
const validate = require('har-validator');
const fs = require('fs');
(async () => {
  for (const f of process.argv.slice(1)) {
    try {
      await validate.har(JSON.parse(fs.readFileSync(f, 'utf8')));
      console.log('valid ' + f);
    } catch (e) {
      console.log('INVALID ' + f + ': ' + JSON.stringify(e.errors || e.message));
      process.exitCode = 1;
    }
  }
})();`
	cmd := exec.Command(node, append([]string{"-e", script}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("har-validator rejected the output: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "valid "); got != len(files) {
		t.Fatalf("har-validator checked %d of %d files:\n%s", got, len(files), out)
	}
}
