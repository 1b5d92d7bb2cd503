package txnpack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"unsafe"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/sharedpcaps"
	"github.com/connscope/connscope/reassembly"
)

// captures lists the repository's test captures and the public ones.
func captures(t *testing.T) []string {
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "captures", "*.pcap"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no captures: %v", err)
	}
	shared, _ := filepath.Glob(filepath.Join(sharedpcaps.Dir(), "*.pcap*"))
	return append(paths, shared...)
}

// parsed is one closed connection as a handler saw it.
type parsed struct {
	conn int
	txns []*httpflow.Transaction
}

// handler runs httpflow on every connection with cfg. With pack set, it
// feeds a Conn from Settled and merges at the close, as analysis does.
type handler struct {
	cfg     httpflow.Config
	pack    bool
	parsers map[*reassembly.Connection]*httpflow.Conn
	packs   map[*reassembly.Connection]*Conn
	u       Unpacker
	out     []parsed
	packed  int
	whole   int // of packed, those kept whole
}

func (h *handler) Opened(c *reassembly.Connection) reassembly.StreamConsumer {
	cfg := h.cfg
	if h.pack {
		k := new(Conn)
		h.packs[c] = k
		cfg.Settled, cfg.ForgetSettled = k.Settled, true
	}
	p := httpflow.NewConn(c, cfg)
	h.parsers[c] = p
	return p
}

func (h *handler) Closed(c *reassembly.Connection) {
	p := h.parsers[c]
	txns := p.Transactions()
	if k := h.packs[c]; k != nil {
		h.packed += k.Len()
		h.whole += len(k.whole)
		txns = k.Transactions(txns, &h.u)
	}
	// Deep copies, made before anything is reused.
	var kept []*httpflow.Transaction
	for _, t := range txns {
		kept = append(kept, deepCopy(t))
	}
	h.out = append(h.out, parsed{c.ID, kept})
}

func deepCopy(t *httpflow.Transaction) *httpflow.Transaction {
	c := *t
	msg := func(m *httpflow.Message) *httpflow.Message {
		if m == nil {
			return nil
		}
		d := *m
		d.ConnectionTokens = slices.Clone(m.ConnectionTokens)
		d.Anomalies = slices.Clone(m.Anomalies)
		d.Headers, d.Trailers = slices.Clone(m.Headers), slices.Clone(m.Trailers)
		return &d
	}
	c.Request, c.Response = msg(t.Request), msg(t.Response)
	if t.Interim != nil {
		c.Interim = make([]*httpflow.Message, len(t.Interim))
		for i, m := range t.Interim {
			c.Interim[i] = msg(m)
		}
	}
	return &c
}

func run(t *testing.T, path string, cfg httpflow.Config, pack bool) ([]parsed, int, int) {
	t.Helper()
	r, err := capture.Open(path)
	if err != nil {
		return nil, 0, 0 // not a capture this package is about
	}
	defer r.Close()
	h := &handler{cfg: cfg, pack: pack, parsers: map[*reassembly.Connection]*httpflow.Conn{}, packs: map[*reassembly.Connection]*Conn{}}
	asm := reassembly.NewAssembler(reassembly.Config{}, h)
	capturetest.EachSegment(r, asm.Add) // a damaged capture: what was read counts
	asm.Flush()
	return h.out, h.packed, h.whole
}

// Transactions packed as they settle, and merged at the close with what
// httpflow still holds, are every transaction a parser that keeps them
// all returns, field for field, header lists included.
func TestPackedEqualsKept(t *testing.T) {
	total, whole := 0, 0
	for _, cfg := range []httpflow.Config{{}, {DropHeaderFields: true}} {
		for _, path := range captures(t) {
			name := fmt.Sprintf("%s (DropHeaderFields %v)", filepath.Base(path), cfg.DropHeaderFields)
			want, _, _ := run(t, path, cfg, false)
			got, packed, w := run(t, path, cfg, true)
			if cfg.DropHeaderFields {
				total += packed
				whole += w
			}
			if len(got) != len(want) {
				t.Fatalf("%s: %d connections packed, %d kept", name, len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				if g.conn != w.conn || len(g.txns) != len(w.txns) {
					t.Errorf("%s: connection %d: %d transactions, want connection %d with %d", name, g.conn, len(g.txns), w.conn, len(w.txns))
					continue
				}
				for j := range w.txns {
					if !reflect.DeepEqual(g.txns[j], w.txns[j]) {
						t.Errorf("%s: connection %d #%d:\ngot  %s\nwant %s", name, w.conn, j, describe(g.txns[j]), describe(w.txns[j]))
					}
				}
			}
		}
	}
	// Without header lists most transactions fit a record; the others
	// are kept whole.
	if total < 100 || whole == 0 || whole > total/4 {
		t.Errorf("without header lists %d transactions were packed, %d of them whole: want over 100, with some whole (the test proves little otherwise) and most not", total, whole)
	}
	t.Logf("without header lists %d transactions packed, %d of them whole", total, whole)
}

func describe(t *httpflow.Transaction) string {
	s := fmt.Sprintf("%+v", *t)
	for _, m := range append([]*httpflow.Message{t.Request, t.Response}, t.Interim...) {
		if m != nil {
			s += fmt.Sprintf("\n  %+v", *m)
		}
	}
	return s
}

// Every field survives packing, at its extremes too: random transactions
// with every field set (or not), lists nil or empty, frames and times
// going backwards, values at the ends of their types.
func TestPackRoundTripsEveryField(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	i64 := func() int64 {
		switch rng.IntN(6) {
		case 0:
			return -1
		case 1:
			return math.MaxInt64
		case 2:
			return math.MinInt64
		case 3:
			return 0
		}
		return rng.Int64N(1<<40) - 1<<39
	}
	str := func() string {
		switch rng.IntN(4) {
		case 0:
			return ""
		case 1:
			return words[1+rng.IntN(len(words)-1)]
		}
		return fmt.Sprintf("s\x00%d\xff", rng.Int())
	}
	list := func() []string {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []string{}
		}
		l := make([]string, 1+rng.IntN(3))
		for i := range l {
			l[i] = str()
		}
		return l
	}
	headers := func() []httpflow.Header {
		switch rng.IntN(3) {
		case 0:
			return nil
		case 1:
			return []httpflow.Header{}
		}
		return []httpflow.Header{{Name: str(), Value: str()}, {Name: str(), Value: str()}}
	}
	msg := func() *httpflow.Message {
		if rng.IntN(5) == 0 {
			return nil
		}
		m := &httpflow.Message{
			FirstFrame: rng.Uint64(), LastFrame: rng.Uint64(), Start: i64(), End: i64(),
			Method: str(), Target: str(), Version: str(), Status: int(i64()), Reason: str(),
			HeaderBytes: i64(), BodyBytes: i64(), WireBytes: i64(), DeclaredLength: i64(),
			Framing: httpflow.Framing(rng.IntN(256)), Incomplete: httpflow.Incomplete(rng.IntN(256)),
			Complete: rng.IntN(2) == 0, HeadersTruncated: rng.IntN(2) == 0, HasProxyConnection: rng.IntN(2) == 0,
			ConnectionTokens: list(), KeepAliveMax: int32(rng.Uint32()), KeepAliveTimeout: int32(rng.Uint32()),
		}
		if rng.IntN(2) == 0 {
			m.Headers, m.Trailers = headers(), headers()
			m.KeepAlive, m.ProxyConnection, m.Expect, m.Upgrade = str(), str(), str(), str()
			m.Anomalies = list()
		}
		return m
	}
	for round := range 200 {
		var c Conn
		var want []*httpflow.Transaction
		for i := range 1 + rng.IntN(8) {
			tx := &httpflow.Transaction{
				ID: int(i64()), Connection: int(i64()), Index: i,
				Request: msg(), Response: msg(),
				Pipelined: rng.IntN(2) == 0, PersistentAfter: rng.IntN(2) == 0, Tunnel: rng.IntN(2) == 0,
				Connect: i64(), Send: i64(), Wait: i64(), Receive: i64(), Total: i64(), GapBefore: i64(),
			}
			switch rng.IntN(3) {
			case 0:
				tx.Interim = []*httpflow.Message{}
			case 1:
				for range 1 + rng.IntN(2) {
					if m := msg(); m != nil {
						tx.Interim = append(tx.Interim, m)
					}
				}
			}
			c.Settled(tx)
			want = append(want, deepCopy(tx))
		}
		var u Unpacker
		last := want[len(want)-1]
		got := c.Transactions([]*httpflow.Transaction{last}, &u)
		if len(got) != len(want) {
			t.Fatalf("round %d: %d transactions, want %d", round, len(got), len(want))
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Fatalf("round %d #%d:\ngot  %s\nwant %s", round, i, describe(got[i]), describe(want[i]))
			}
		}
	}
}

// The transaction given to Settled last comes back even when the caller's
// list does not have it, and one of the caller's replaces the packed copy
// of the same Index.
func TestHeldTransactionsWin(t *testing.T) {
	var c Conn
	mk := func(i int, target string) *httpflow.Transaction {
		return &httpflow.Transaction{Index: i, Request: &httpflow.Message{Target: target}}
	}
	for i := range 4 {
		c.Settled(mk(i, "/packed"))
	}
	var u Unpacker
	got := c.Transactions([]*httpflow.Transaction{mk(1, "/held"), mk(4, "/open")}, &u)
	var targets []string
	for _, tx := range got {
		targets = append(targets, fmt.Sprintf("%d%s", tx.Index, tx.Request.Target))
	}
	if want := []string{"0/packed", "1/held", "2/packed", "3/packed", "4/open"}; !slices.Equal(targets, want) {
		t.Errorf("got %v, want %v", targets, want)
	}
}

// A record is small and holds no pointer, so the collector skips it.
func TestRecordLayout(t *testing.T) {
	if n := unsafe.Sizeof(record{}); n > 232 {
		t.Errorf("a record takes %d bytes, want at most 232", n)
	}
	var hasPointers func(reflect.Type) bool
	hasPointers = func(ty reflect.Type) bool {
		switch ty.Kind() {
		case reflect.Pointer, reflect.String, reflect.Slice, reflect.Map, reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
			return true
		case reflect.Array:
			return hasPointers(ty.Elem())
		case reflect.Struct:
			for i := range ty.NumField() {
				if hasPointers(ty.Field(i).Type) {
					return true
				}
			}
		}
		return false
	}
	if hasPointers(reflect.TypeOf(record{})) {
		t.Error("record holds a pointer")
	}
}
