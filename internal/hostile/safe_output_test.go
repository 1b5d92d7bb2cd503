package hostile

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// hostileText is captured text meant to attack whoever reads the report:
// a terminal (clear screen, window title by OSC, CSI as the C1 byte 0x9b
// raw and as U+009B, a bidi override that reverses what follows), a
// parser (NUL, invalid UTF-8), a browser (script and an attribute break).
const hostileText = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u009b1m\u202eevil\x00\xff\xfe" +
	`<script>alert(1)</script>"><img src=x onerror=alert(1)>'` + "\r\n"

// harmless turns text into text a parser treats the same way (controls
// stay controls, bytes above 0x7f stay invalid UTF-8) but that means
// nothing to a terminal or a browser: the structure of a report on it is
// the structure every report must keep.
func harmless(text string) string {
	b := []byte(text)
	for i, c := range b {
		switch {
		case c == '\r' || c == '\n' || c == ' ':
		case c < 0x20 || c == 0x7f:
			b[i] = 0x01
		case c >= 0x80:
			b[i] = 0xff
		default:
			b[i] = 'a'
		}
	}
	return string(b)
}

// writeTextCapture writes a capture whose request targets, header values
// and reason phrases hold text (sanitised only of CR and LF where HTTP
// framing needs them gone). Its connections raise findings that quote the
// targets: idle gaps between serial transactions, a response cut by RST.
func writeTextCapture(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	line := strings.NewReplacer("\r", "_", "\n", "_", " ", "_").Replace(text) // one token: a target
	value := strings.NewReplacer("\r", "_", "\n", "_").Replace(text)          // a header value
	w := newCapWriter(f)
	// A request line with the text as its target: malformed (controls),
	// reported with the bytes that made it so.
	bad := newFlow(w, clientAddr(1), server, 1000)
	bad.handshake()
	bad.send(true, []byte("GET /"+line+" HTTP/1.1\r\nHost: example.test\r\n\r\n"))
	bad.send(false, []byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	bad.closeBoth(false)
	// Serial transactions whose header values and reason phrases hold the
	// text, with idle gaps between them (CH1007).
	fl := newFlow(w, clientAddr(2), server, 3000)
	fl.handshake()
	for i := range 3 {
		fl.send(true, []byte("GET /ok"+strings.Repeat("k", i)+" HTTP/1.1\r\nHost: "+value+"\r\nUser-Agent: "+value+"\r\nX-"+strings.Repeat("h", i+1)+": "+value+"\r\n\r\n"))
		fl.send(false, []byte("HTTP/1.1 200 "+value+"\r\nContent-Length: 5\r\nServer: "+value+"\r\nSet-Cookie: "+value+"\r\n\r\nhello"))
		fl.ack(true)
		w.now += 300e6
	}
	fl.closeBoth(true)
	// A response cut by RST (CC1001), its reason phrase the text.
	cut := newFlow(w, clientAddr(3), server, 5000)
	cut.handshake()
	cut.send(true, []byte("POST /cut HTTP/1.1\r\nHost: "+value+"\r\nContent-Length: 3\r\n\r\nabc"))
	cut.send(false, []byte("HTTP/1.1 500 "+value+"\r\nContent-Length: 100000\r\n\r\npartial"))
	cut.rst(false)
	if err := w.close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// errNotShown: a check found none of the captured text, so it would have
// proven nothing.
var errNotShown = errors.New("the captured text does not appear at all: the check proves nothing")

// terminalSafe checks that out cannot act on a terminal: valid UTF-8
// without C0 controls other than newline and tab, DEL, C1 controls or bidi
// controls; with colour, ESC may only start an SGR sequence.
func terminalSafe(out []byte, colour bool) error {
	if colour {
		if !sgr.Match(out) {
			return errors.New("--color always printed no colour at all")
		}
		out = sgr.ReplaceAll(out, nil)
	}
	if !utf8.Valid(out) {
		return errors.New("output is not valid UTF-8")
	}
	for i, r := range string(out) {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
			(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) {
			return fmt.Errorf("control character %U at byte %d: %q", r, i, out[max(0, i-20):min(len(out), i+20)])
		}
	}
	if !bytes.Contains(out, []byte("pwned")) {
		return errNotShown
	}
	return nil
}

var sgr = regexp.MustCompile(`\x1b\[[0-9;]*m`)

// jsonSafe checks that out is one JSON value holding the captured text.
func jsonSafe(out []byte) error {
	var v any
	if err := json.Unmarshal(out, &v); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return jsonStrings(out)
}

// jsonStrings checks what every JSON form shares: the captured text is
// there and '<' never appears raw, so the JSON is safe to paste into a page
// too.
func jsonStrings(out []byte) error {
	if bytes.Contains(out, []byte("<script")) || bytes.Contains(out, []byte("<img")) {
		return errors.New("raw HTML from the capture in JSON output")
	}
	// JSON lands on terminals too: C1 and bidi controls must be escaped
	// (encoding/json escapes C0 itself).
	for i, r := range string(out) {
		if (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f {
			return fmt.Errorf("raw control character %U at byte %d of JSON output", r, i)
		}
	}
	if !bytes.Contains(out, []byte("pwned")) {
		return errNotShown
	}
	return nil
}

// ndjsonSafe checks that every line of out is one JSON value.
func ndjsonSafe(out []byte) error {
	lines := bytes.Split(bytes.TrimSuffix(out, []byte("\n")), []byte("\n"))
	if len(lines) < 2 {
		return fmt.Errorf("%d NDJSON lines", len(lines))
	}
	for i, l := range lines {
		if !json.Valid(l) {
			return fmt.Errorf("line %d is not JSON: %.200q", i+1, l)
		}
	}
	return jsonStrings(out)
}

// junitSafe checks that out is well-formed XML holding the captured text
// and no element the capture could have smuggled in.
func junitSafe(out []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(out))
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not XML: %w", err)
		}
		if x, ok := tok.(xml.StartElement); ok && (x.Name.Local == "script" || x.Name.Local == "img") {
			return fmt.Errorf("element <%s> from the capture in JUnit XML", x.Name.Local)
		}
	}
	if !bytes.Contains(out, []byte("pwned")) {
		return errNotShown
	}
	return nil
}

// htmlTag matches a start or end tag; htmlAttr one attribute in it.
var (
	htmlTag  = regexp.MustCompile(`<(/?[a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>` + "`" + `]+))?)*)\s*/?>`)
	htmlAttr = regexp.MustCompile(`\s+([^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>` + "`" + `]+))?`)
)

// htmlStructure lists the tags of a page with their attribute names, in
// order: what a browser would build elements from.
func htmlStructure(page []byte) []string {
	var out []string
	for _, m := range htmlTag.FindAllSubmatch(page, -1) {
		s := strings.ToLower(string(m[1]))
		for _, a := range htmlAttr.FindAllSubmatch(m[2], -1) {
			s += " " + strings.ToLower(string(a[1]))
		}
		out = append(out, s)
	}
	return out
}

// htmlSafe checks that page has exactly the elements and attributes of
// the page made from harmless text, and no raw captured byte.
func htmlSafe(page, harmlessPage []byte) error {
	got, want := htmlStructure(page), htmlStructure(harmlessPage)
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Errorf("tag %d is %q, with harmless text %q: the capture changed the page's elements", i, got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("%d tags, with harmless text %d: the capture changed the page's elements", len(got), len(want))
	}
	if bytes.Contains(page, []byte("<img")) || bytes.ContainsAny(page, "\x1b\x00") {
		return errors.New("raw captured bytes in the page")
	}
	if !bytes.Contains(page, []byte("pwned")) {
		return errNotShown
	}
	return nil
}

func TestSafeOutput(t *testing.T) {
	dir := t.TempDir()
	// The file name is captured text too: it is printed in every report.
	name := "\x1b]0;pwned\x07<img src=x onerror=alert(1)>"
	hostile := filepath.Join(dir, name+".pcap")
	plain := filepath.Join(dir, strings.ReplaceAll(harmless(name), "\x01", "_")+".pcap")
	writeTextCapture(t, hostile, hostileText)
	writeTextCapture(t, plain, harmless(hostileText))

	harmlessHTML := connscope(t, "analyze", "--format", "html", plain).stdout

	for _, c := range []struct {
		desc  string
		args  []string
		check func(out []byte) error
	}{
		{"text", []string{"--show", "all", "--all-findings", "--color", "never"}, func(b []byte) error { return terminalSafe(b, false) }},
		{"text in colour", []string{"--show", "all", "--all-findings", "--color", "always"}, func(b []byte) error { return terminalSafe(b, true) }},
		{"timeline", []string{"--conn", "2", "--color", "always"}, func(b []byte) error { return terminalSafe(b, true) }},
		{"json", []string{"--format", "json"}, jsonSafe},
		{"ndjson", []string{"--format", "ndjson"}, ndjsonSafe},
		{"har", []string{"--format", "har"}, jsonSafe},
		{"html", []string{"--format", "html"}, func(b []byte) error { return htmlSafe(b, harmlessHTML) }},
		{"junit", []string{"--format", "junit"}, junitSafe},
	} {
		t.Run(c.desc, func(t *testing.T) {
			r := connscope(t, append(append([]string{"analyze"}, c.args...), hostile)...)
			if r.exitCode != 0 {
				t.Fatalf("exit %d: %s", r.exitCode, r.stderr)
			}
			if err := c.check(r.stdout); err != nil {
				t.Error(err)
			}
			if bytes.ContainsAny(r.stderr, "\x1b\x00\x9b") {
				t.Errorf("control bytes on standard error: %q", r.stderr)
			}
		})
	}
}

// TestCheckersCatchUnsafeOutput: each check of TestSafeOutput rejects
// output that lets the captured text through raw, so passing means
// something.
func TestCheckersCatchUnsafeOutput(t *testing.T) {
	harmlessPage := []byte(`<html><body><td title="x">pwned</td></body></html>`)
	for _, c := range []struct {
		desc   string
		check  func([]byte) error
		safe   string
		unsafe []string
	}{
		{"terminal", func(b []byte) error { return terminalSafe(b, false) }, "GET /\\x1b[2Jpwned\n",
			[]string{"GET /\x1b[2Jpwned\n", "pwned\x00", "pwned\xc2\x9b1m", "pwned\x9b", "pwned\u202e", "title\x1b]0;pwned\x07", "GET /ok\n"}},
		{"terminal in colour", func(b []byte) error { return terminalSafe(b, true) }, "\x1b[1mpwned\x1b[0m\n",
			[]string{"\x1b[1mpwned\x1b[2J", "\x1b[1mx\x1b]0;pwned\x07", "pwned"}},
		{"json", jsonSafe, `{"target": "\u003cscript\u003epwned\u009b\u202e"}`, []string{`{"target": "<script>pwned"}`, `{"target": "pwned`, `{}`,
			"{\"target\": \"pwned\u009b\"}", "{\"target\": \"pwned\u202e\"}"}},
		{"ndjson", ndjsonSafe, "{\"a\":\"pwned\"}\n{}\n", []string{"{\"a\":\"pwned\"}\n{\n", "{\"a\":\"pwned\"}\n"}},
		{"junit", junitSafe, `<testsuites><testcase name="&lt;script&gt;pwned"/></testsuites>`,
			[]string{`<testsuites><testcase name="pwned"><script>x</script></testcase></testsuites>`, `<testsuites name="pwned"><a></testsuites>`}},
		{"html", func(b []byte) error { return htmlSafe(b, harmlessPage) }, `<html><body><td title="&#34;&gt;&lt;img">pwned&lt;img src=x onerror=alert(1)&gt;</td></body></html>`,
			[]string{`<html><body><td title=""><img src=x onerror=alert(1)>">pwned</td></body></html>`, `<html><body><td title="x" onmouseover="pwned">pwned</td></body></html>`}},
	} {
		if err := c.check([]byte(c.safe)); err != nil {
			t.Errorf("%s: safe output %q rejected: %v", c.desc, c.safe, err)
		}
		for _, u := range c.unsafe {
			if c.check([]byte(u)) == nil {
				t.Errorf("%s: unsafe output %q accepted", c.desc, u)
			}
		}
	}
}
