package report

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/httpflow"
)

// degenerateReport has every shape a renderer must survive: nil entries,
// a transaction with neither request nor response, a response-only
// transaction, zero times, NaN and negative durations, a finding that
// names a connection the report lacks, and an input that could not be
// read at all.
func degenerateReport() *analysis.Report {
	nan := analysis.Millis(math.NaN())
	neg := analysis.Millis(-5)
	return &analysis.Report{
		Inputs: []*analysis.InputReport{nil, {Index: 1, Name: "gone.pcap", Error: "open gone.pcap: no such file"}},
		Connections: []*analysis.ConnReport{nil, {
			ID: 7, Client: "not an address", Server: "", IRTTMS: &nan, DurationMS: neg,
		}},
		Transactions: []*analysis.TxnReport{nil,
			{ID: 1, Connection: 7},
			{ID: 2, Connection: 7, Response: &analysis.MessageReport{Start: 5, End: 3}, Status: 200,
				Timings: analysis.Timings{WaitMS: &nan, ReceiveMS: &neg, TotalMS: &nan}},
			{ID: 3, Connection: 99, Request: &analysis.MessageReport{}, Method: "GET", Target: "",
				RequestHeaders: []httpflow.Header{{Name: "Host", Value: ""}}},
		},
		Findings: []*analysis.FindingReport{nil,
			{Rule: "", Severity: "catastrophic", Connection: 99, Frames: nil},
			{Rule: "CT1001", Severity: "info", Connections: []int{7, 99}, CostMS: &nan},
		},
	}
}

// TestDegenerateReports: no renderer panics or writes invalid output on
// an empty report or a degenerate one.
func TestDegenerateReports(t *testing.T) {
	for name, r := range map[string]*analysis.Report{
		"empty":      {},
		"degenerate": degenerateReport(),
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
				t.Errorf("html: %v", err)
			}
			if _, _, _, problems := scanHTML(b.String()); len(problems) > 0 {
				t.Errorf("html: %v", problems)
			}
			b.Reset()
			if err := WriteHAR(&b, r, HAROptions{}); err != nil {
				t.Errorf("har: %v", err)
			}
			for _, e := range checkHAR(b.Bytes()) {
				t.Errorf("har: %s", e)
			}
			b.Reset()
			if err := WriteJUnitWith(&b, r, JUnitOptions{Rules: fixtureRules()}); err != nil {
				t.Errorf("junit: %v", err)
			}
			parseJUnit(t, b.Bytes())
			b.Reset()
			// NDJSON may refuse a NaN (it is not JSON), but must say so.
			if err := WriteNDJSON(&b, r); err != nil && !strings.Contains(err.Error(), "report: ndjson") {
				t.Errorf("ndjson: %v", err)
			}
			for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
				if line != "" && !json.Valid([]byte(line)) {
					t.Errorf("ndjson: invalid line %q", line)
				}
			}
			for _, c := range r.Connections {
				if c == nil {
					continue
				}
				b.Reset()
				if err := WriteTimeline(&b, r, c.ID, nil); err != nil {
					t.Errorf("timeline: %v", err)
				}
			}
		})
	}
}

// FuzzCapturedText puts arbitrary bytes wherever a capture's text can
// reach a report (target, method, reason, header names and values, finding
// message, input name, endpoints) and checks every format's guarantee:
// HTML holds only the page's own markup, JUnit is well-formed XML, HAR
// keeps the 1.2 structure with a parseable URL, NDJSON lines are JSON,
// and the terminal timeline holds no control byte.
func FuzzCapturedText(f *testing.F) {
	for _, seed := range []string{
		hostileScript, hostileAttr, hostileJSURL, hostileControls,
		"</script><script>alert(1)</script>", "<!--", "]]>", "\xff\xfe", "%zz", "http://[::1", "\u2028\u2029",
		"<svg/onload=alert(1)>", "'\"`", "\r\n\r\nHTTP/1.1 200 OK",
		"a=1; b", "=; ;=;", "x=y; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Content, not size, is what this target explores: long inputs
		// multiply into every output's labels and make each run slow enough to
		// stall the fuzzer (TestLongCapturedText covers size).
		if len(s) > 2048 {
			t.Skip("longer than 2 KiB")
		}
		r := fixtureReport()
		tx := r.Transactions[1]
		tx.Target, tx.Method, tx.Reason, tx.Version = s, s, s, s
		tx.ResponseVersion = s
		tx.RequestHeaders = append(tx.RequestHeaders, httpflow.Header{Name: s, Value: s}, httpflow.Header{Name: "Host", Value: s},
			httpflow.Header{Name: "Cookie", Value: s})
		tx.ResponseHeaders = append(tx.ResponseHeaders, httpflow.Header{Name: "Location", Value: s},
			httpflow.Header{Name: "Set-Cookie", Value: s}, httpflow.Header{Name: "Set-Cookie", Value: "a=b; expires=" + s + "; path=" + s})
		r.Transactions[0].Target = "http://" + s
		r.Findings[2].Message, r.Findings[2].Slug = s, s
		r.Findings[2].Related[0].Message = s
		r.Inputs[0].Name = s
		r.Connections[1].Client = s

		var b bytes.Buffer
		if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
			t.Fatalf("html: %v", err)
		}
		if _, _, _, problems := scanHTML(b.String()); len(problems) > 0 {
			t.Fatalf("html: %v", problems)
		}
		for _, c := range b.Bytes() {
			if c < 0x20 && c != '\n' && c != '\t' || c == 0x7f {
				t.Fatalf("html: raw control byte %#x", c)
			}
		}
		b.Reset()
		if err := WriteJUnit(&b, r); err != nil {
			t.Fatalf("junit: %v", err)
		}
		parseJUnit(t, b.Bytes())
		b.Reset()
		if err := WriteHAR(&b, r, HAROptions{}); err != nil {
			t.Fatalf("har: %v", err)
		}
		if errs := checkHAR(b.Bytes()); len(errs) > 0 {
			t.Fatalf("har: %v", errs)
		}
		b.Reset()
		if err := WriteNDJSON(&b, r); err != nil {
			t.Fatalf("ndjson: %v", err)
		}
		for _, line := range bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n")) {
			if !json.Valid(line) {
				t.Fatalf("ndjson: invalid line %q", line)
			}
		}
		b.Reset()
		if err := WriteTimeline(&b, r, 2, nil); err != nil {
			t.Fatalf("timeline: %v", err)
		}
		for _, c := range b.Bytes() {
			if c < 0x20 && c != '\n' || c == 0x7f {
				t.Fatalf("timeline: raw control byte %#x", c)
			}
		}
	})
}

// TestLongCapturedText renders 100 KiB of hostile text in every field and
// wants every output bounded: labels and messages are truncated where a
// reader displays them, so a hostile capture cannot blow up a CI
// dashboard.
func TestLongCapturedText(t *testing.T) {
	if testing.Short() {
		t.Skip("renders megabytes")
	}
	s := strings.Repeat("<a b=c>\x00", 10000)
	r := fixtureReport()
	tx := r.Transactions[1]
	tx.Target, tx.Reason = s, s
	tx.RequestHeaders = append(tx.RequestHeaders, httpflow.Header{Name: s, Value: s})
	r.Findings[2].Message = s
	r.Connections[1].Client = s
	var b bytes.Buffer
	if err := WriteJUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	parseJUnit(t, b.Bytes())
	// The message appears once, truncated, in the failure's attribute and
	// once whole in its text; the client address only in truncated labels.
	if limit := 40 * len(s) / 10; b.Len() > limit {
		t.Errorf("JUnit output is %d bytes for a %d-byte string; labels are not truncated", b.Len(), len(s))
	}
	b.Reset()
	if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, _, problems := scanHTML(b.String()); len(problems) > 0 {
		t.Fatal(problems)
	}
}
