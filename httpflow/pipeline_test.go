package httpflow

import (
	"os"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/internal/sharedpcaps"
	"github.com/connscope/connscope/reassembly"
)

// Helpers that run real captures through capture → reassembly → httpflow,
// as the analysis pipeline does.

// connResult is what httpflow made of one connection.
type connResult struct {
	conn  *reassembly.Connection
	app   App
	txns  []*Transaction
	bytes [2]int64 // bytes delivered per direction
	gaps  [2]int64 // bytes reported missing per direction
}

// collector is a reassembly.Handler that parses every connection.
type collector struct {
	cfg     Config
	parsers map[*reassembly.Connection]*countingConsumer
	out     []*connResult
}

// countingConsumer wraps a Conn to count what the Assembler delivered, so
// tests can check that parsing accounted for every byte.
type countingConsumer struct {
	*Conn
	bytes, gaps [2]int64
}

func (c *countingConsumer) Data(d reassembly.Direction, b []byte, at reassembly.Span) {
	c.bytes[d&1] += int64(len(b))
	c.Conn.Data(d, b, at)
}

func (c *countingConsumer) Gap(d reassembly.Direction, n int64, at reassembly.Span) {
	c.gaps[d&1] += n
	c.Conn.Gap(d, n, at)
}

func (h *collector) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	p := &countingConsumer{Conn: NewConn(c, h.cfg)}
	h.parsers[c] = p
	return p
}

func (h *collector) Closed(c *reassembly.Connection) {
	p := h.parsers[c]
	delete(h.parsers, c)
	h.out = append(h.out, &connResult{conn: c, app: p.App(), txns: p.Transactions(), bytes: p.bytes, gaps: p.gaps})
}

// analyzeFile runs one capture file through the pipeline. A damaged file
// is analysed up to the damage, like the CLI does; the error is returned
// beside the results.
func analyzeFile(t testing.TB, path string, cfg Config) ([]*connResult, error) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	h := &collector{cfg: cfg, parsers: map[*reassembly.Connection]*countingConsumer{}}
	asm := reassembly.NewAssembler(reassembly.Config{}, h)
	_, readErr := capturetest.EachSegment(r, asm.Add)
	asm.Flush()
	sortResults(h.out)
	return h.out, readErr
}

func sortResults(rs []*connResult) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].conn.ID < rs[j-1].conn.ID; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// sharedPcaps finds the folder of public captures: $CONNSCOPE_SHARED_PCAPS,
// or ../shared/pcaps from the repository root. It returns "" when absent.
func sharedPcaps() string {
	d := sharedpcaps.Dir()
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}
