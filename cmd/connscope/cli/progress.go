package cli

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/internal/textsafe"
)

// progressThreshold is the input size above which "auto" shows progress.
const progressThreshold = 100 << 20

// progressMeter prints bytes read of total, rate and time left on stderr
// while a large input is read. It uses the wall clock, but only to draw
// the meter: the analysis never sees it.
type progressMeter struct {
	w      io.Writer
	always bool
	// terminal redraws one line in place; otherwise (--progress always
	// into a log) each update is a line of its own, with no cursor control.
	terminal bool
	name     string
	r        *capture.Reader
	size     int64
	start    time.Time
	last     time.Time
	shown    bool
}

// progressFor returns a meter for the --progress mode, or nil when no
// progress should be shown (never, or auto without a terminal).
func progressFor(mode string, stderr io.Writer) *progressMeter {
	f, ok := stderr.(*os.File)
	terminal := ok && isatty.IsTerminal(f.Fd())
	switch mode {
	case "never":
		return nil
	case "auto":
		if !terminal {
			return nil
		}
	}
	return &progressMeter{w: stderr, always: mode == "always", terminal: terminal}
}

// wants reports whether an input of this size gets a meter.
func (m *progressMeter) wants(size int64) bool {
	return m.always || size > progressThreshold
}

// wrap returns a source that updates the meter as packets are read.
func (m *progressMeter) wrap(name string, r *capture.Reader) *meteredSource {
	m.name, m.r, m.size = name, r, r.Size()
	m.start = time.Now()
	m.last = m.start
	return &meteredSource{r: r, m: m}
}

type meteredSource struct {
	r *capture.Reader
	m *progressMeter
	n uint32
}

func (s *meteredSource) Next() (*capture.Packet, error) {
	s.n++
	if s.n%4096 == 0 {
		s.m.tick()
	}
	return s.r.Next()
}

func (m *progressMeter) tick() {
	now := time.Now()
	if now.Sub(m.last) < 250*time.Millisecond {
		return
	}
	m.last = now
	m.shown = true
	if m.terminal {
		fmt.Fprintf(m.w, "\r\x1b[K%s", m.line(now))
	} else {
		fmt.Fprintf(m.w, "%s\n", m.line(now))
	}
}

func (m *progressMeter) line(now time.Time) string {
	read := m.r.BytesRead()
	elapsed := now.Sub(m.start).Seconds()
	rate := 0.0
	if elapsed > 0 {
		rate = float64(read) / elapsed
	}
	what := "reading " + textsafe.Terminal(m.name) + ":"
	if m.size <= 0 {
		return fmt.Sprintf("%s %s at %s/s", what, byteSize(read), byteSize(int64(rate)))
	}
	left := "?"
	if rate > 0 {
		left = time.Duration(float64(m.size-read) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%s %s of %s (%.0f%%) at %s/s, %s left", what,
		byteSize(read), byteSize(m.size), 100*float64(read)/float64(m.size), byteSize(int64(rate)), left)
}

// done clears the meter line on a terminal (a log keeps its lines).
func (m *progressMeter) done() {
	if m.shown && m.terminal {
		fmt.Fprint(m.w, "\r\x1b[K")
	}
}
