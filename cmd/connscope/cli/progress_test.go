package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
)

func TestProgressModes(t *testing.T) {
	var buf bytes.Buffer
	if progressFor("never", &buf) != nil {
		t.Error("--progress never gave a meter")
	}
	if progressFor("auto", &buf) != nil {
		t.Error("--progress auto gave a meter on a stream that is not a terminal")
	}
	m := progressFor("always", &buf)
	if m == nil || !m.wants(1) {
		t.Fatal("--progress always should meter any input")
	}
	auto := &progressMeter{w: &buf}
	if auto.wants(50<<20) || !auto.wants(200<<20) {
		t.Error("auto should meter inputs over 100 MB only")
	}
}

func TestProgressLine(t *testing.T) {
	r, err := capture.Open(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	m := progressFor("always", &buf)
	m.terminal = true // draw as on a terminal (TestProgressPlainWhenNotATerminal covers a log)
	src := m.wrap(keepAlive, r)
	for {
		if _, err := src.Next(); err != nil {
			break
		}
	}
	line := m.line(m.start.Add(2 * time.Second))
	if !strings.Contains(line, "100%") || !strings.Contains(line, "of ") || !strings.Contains(line, "/s") {
		t.Errorf("progress line %q should give bytes of total, percent and rate", line)
	}
	m.tick() // within 250 ms of the start: nothing drawn yet
	if buf.Len() != 0 {
		t.Errorf("meter drew too early: %q", buf.String())
	}
	m.last = m.start.Add(-time.Second)
	m.tick()
	m.done()
	if !strings.Contains(buf.String(), "reading "+keepAlive+":") || !strings.HasSuffix(buf.String(), "\r\x1b[K") {
		t.Errorf("meter output %q should draw a line and clear it when done", buf.String())
	}
}

// TestProgressTimeLeft: the time left is the bytes left over the rate, in
// seconds with their fraction, rounded once; 0.6 s left is "1s", not the
// "0s" a whole-seconds truncation gives.
func TestProgressTimeLeft(t *testing.T) {
	r, err := capture.Open(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := progressFor("always", &bytes.Buffer{})
	src := m.wrap(keepAlive, r)
	for {
		if _, err := src.Next(); err != nil {
			break
		}
	}
	read := r.BytesRead()
	for _, tc := range []struct {
		left float64 // seconds left at the rate of the read so far (over 2 s)
		want string
	}{{0.6, "1s left"}, {2.4, "2s left"}, {90, "1m30s left"}} {
		m.size = read + int64(tc.left*float64(read)/2)
		if line := m.line(m.start.Add(2 * time.Second)); !strings.HasSuffix(line, tc.want) {
			t.Errorf("%.1f s left: progress line %q, want it to end %q", tc.left, line, tc.want)
		}
	}
}

// TestProgressPlainWhenNotATerminal: --progress always into a CI log (not
// a terminal) writes whole lines that name the input, and no cursor
// control for the log to show as garbage.
func TestProgressPlainWhenNotATerminal(t *testing.T) {
	r, err := capture.Open(keepAlive)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var buf bytes.Buffer
	m := progressFor("always", &buf)
	src := m.wrap(keepAlive, r)
	for {
		if _, err := src.Next(); err != nil {
			break
		}
	}
	m.last = m.start.Add(-time.Second)
	m.tick()
	m.done()
	out := buf.String()
	if strings.ContainsAny(out, "\r\x1b") || !strings.HasSuffix(out, "\n") || !strings.Contains(out, "reading "+keepAlive+":") {
		t.Errorf("progress into a log: %q, want plain lines naming the input", out)
	}
}
