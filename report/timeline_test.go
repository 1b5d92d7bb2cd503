package report

import (
	"bytes"
	"strings"
	"testing"
)

// recordingStyler wraps each piece in [kind|...] so tests can see what
// was styled how.
type recordingStyler struct{ kinds map[string]int }

func (s *recordingStyler) Style(kind, text string) string {
	s.kinds[kind]++
	return "[" + kind + "|" + text + "]"
}

func TestTimelineStyles(t *testing.T) {
	st := &recordingStyler{kinds: map[string]int{}}
	var b bytes.Buffer
	if err := WriteTimeline(&b, fixtureReport(), 2, st); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"[" + StyleReset + "|", "[" + StyleRetransmission + "|", "[" + StyleLoss + "|", "[" + StyleWindow + "|",
		"[" + StyleRequest + "|┌ T2 request", "[" + StyleResponse + "|┌ T2 response", "[" + StyleError + "|◆ CC3001",
		"[" + StyleHeader + "|connection 2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline lacks %q", want)
		}
	}
}

func TestTimelineHostileTextIsInert(t *testing.T) {
	for _, id := range []int{1, 2, 3} {
		var b bytes.Buffer
		if err := WriteTimeline(&b, fixtureReport(), id, nil); err != nil {
			t.Fatal(err)
		}
		for i, c := range b.Bytes() {
			if c < 0x20 && c != '\n' || c == 0x7f {
				t.Fatalf("connection %d: raw control byte %#x at %d", id, c, i)
			}
		}
		if strings.Contains(b.String(), "\u202e") {
			t.Errorf("connection %d: raw right-to-left override", id)
		}
	}
}

func TestTimelineUnknownConnection(t *testing.T) {
	var b bytes.Buffer
	err := WriteTimeline(&b, fixtureReport(), 99, nil)
	if err == nil || !strings.Contains(err.Error(), "no connection 99") {
		t.Errorf("err = %v, want one naming connection 99", err)
	}
	one := fixtureReport()
	one.Connections = one.Connections[:1]
	err = WriteTimeline(&b, one, 99, nil)
	if err == nil || !strings.HasSuffix(err.Error(), "(it has 1 connection)") {
		t.Errorf("err = %v, want it to say the report has 1 connection", err)
	}
}

// TestTimelineWithoutSegments: a report made without KeepSegments still
// lists transactions and findings, and says why segments are missing.
func TestTimelineWithoutSegments(t *testing.T) {
	r := fixtureReport()
	for _, c := range r.Connections {
		c.Segments = nil
	}
	var b bytes.Buffer
	if err := WriteTimeline(&b, r, 2, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"no segment records", "┌ T2 request", "└ T2 response received", "◆ CC3001"} {
		if !strings.Contains(out, want) {
			t.Errorf("timeline without segments lacks %q", want)
		}
	}
}

// TestTimelineNamesTheResetter: a server's FIN answered by the client's
// RST is "closed first by server (fin), reset by client", not "closed
// first by server (rst)".
func TestTimelineNamesTheResetter(t *testing.T) {
	r := fixtureReport()
	c := r.Connections[1]
	c.ClosedFirstBy, c.RSTBy = "server", "client"
	var b bytes.Buffer
	if err := WriteTimeline(&b, r, c.ID, nil); err != nil {
		t.Fatal(err)
	}
	if want := "closed first by server (fin), reset by client"; !strings.Contains(b.String(), want) {
		t.Errorf("timeline lacks %q:\n%s", want, b.String())
	}
}

// TestTimelineReleasedRecordsCount: "1 earlier segment record was
// released", "2 earlier segment records were released".
func TestTimelineReleasedRecordsCount(t *testing.T) {
	for n, want := range map[int]string{1: "  1 earlier segment record was released", 2: "  2 earlier segment records were released"} {
		r := fixtureReport()
		r.Connections[1].SegmentsDropped = n
		var b bytes.Buffer
		if err := WriteTimeline(&b, r, r.Connections[1].ID, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), want) {
			t.Errorf("%d released: timeline lacks %q", n, want)
		}
	}
}
