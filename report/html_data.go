package report

import (
	"math"
	"slices"
	"strconv"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/internal/textsafe"
)

// chartData is the JSON the page's script draws from. Times are
// milliseconds since the report's first capture time (float64 keeps
// sub-microsecond precision there, where nanoseconds since the epoch
// would not fit a JavaScript number). Strings are cleaned captured text;
// the script only ever sets them as textContent.
type chartData struct {
	// Span is [0, end] of the whole capture, for the shared axis.
	Span  [2]float64  `json:"span"`
	Conns []chartConn `json:"conns"`
}

type chartConn struct {
	ID     int     `json:"id"`
	Label  string  `json:"label"`
	Start  float64 `json:"start"`
	End    float64 `json:"end"`
	IRTT   float64 `json:"irtt"` // -1 when unknown
	Client string  `json:"client"`
	Server string  `json:"server"`
	// Segs holds one array per segment: [time, dir (0 c→s, 1 s→c),
	// seq, len, ack, window, flags, kind bits, frame].
	Segs    [][9]float64   `json:"segs"`
	Cut     int            `json:"cut"`     // segments beyond MaxSegments, not drawn
	Dropped int            `json:"dropped"` // segments the analysis released
	Txns    []chartTxn     `json:"txns"`
	Finds   []chartFinding `json:"finds"`
}

// chartTxn is one waterfall row. Each phase is [from, to] or null.
type chartTxn struct {
	ID         int         `json:"id"`
	Label      string      `json:"label"`
	Status     int         `json:"status"`
	Connect    *[2]float64 `json:"connect"`
	Send       *[2]float64 `json:"send"`
	Wait       *[2]float64 `json:"wait"`
	Receive    *[2]float64 `json:"receive"`
	NoResponse bool        `json:"noresp"`
	Incomplete string      `json:"incomplete,omitempty"`
	Detail     string      `json:"detail"`
}

type chartFinding struct {
	Rule     string    `json:"rule"`
	Severity string    `json:"sev"`
	Time     float64   `json:"t"`
	Frames   []uint64  `json:"frames"`
	Times    []float64 `json:"times"` // capture time of each frame found among the segments
	Message  string    `json:"msg"`
}

func buildChartData(r *analysis.Report, l *htmlListing, opts HTMLOptions, origin analysis.Time) chartData {
	_, end, _ := reportSpan(r.Inputs, l.conns)
	d := chartData{Span: [2]float64{0, relMS(end, origin)}, Conns: []chartConn{}}
	conns := l.conns
	if opts.MaxConnections >= 0 && len(conns) > opts.MaxConnections {
		conns = conns[:opts.MaxConnections]
	}
	index := map[int]int{}
	budget := opts.MaxTotalSegments
	for _, c := range conns {
		cc := chartConn{
			ID: c.ID, Label: clean(c.Client) + " → " + clean(c.Server),
			Client: clean(c.Client), Server: clean(c.Server),
			Start: relMS(c.Start, origin), End: relMS(c.End, origin), IRTT: millis(c.IRTTMS, -1),
			Segs: [][9]float64{}, Txns: []chartTxn{}, Finds: []chartFinding{}, Dropped: c.SegmentsDropped,
		}
		segs := c.Segments
		limit := len(segs)
		if opts.MaxSegments >= 0 {
			limit = min(limit, opts.MaxSegments)
		}
		if opts.MaxTotalSegments >= 0 {
			limit = min(limit, max(budget, 0))
			budget -= limit
		}
		cc.Cut = len(segs) - limit
		segs = segs[:limit]
		for _, s := range segs {
			cc.Segs = append(cc.Segs, [9]float64{
				round3(relMS(analysis.Time(s.Time), origin)), float64(s.Dir), float64(s.Seq), float64(s.Len),
				float64(s.Ack), float64(s.Window), float64(s.Flags), float64(s.Kind), float64(s.Frame),
			})
		}
		index[c.ID] = len(d.Conns)
		d.Conns = append(d.Conns, cc)
	}
	for _, t := range l.txns {
		i, ok := index[t.Connection]
		if !ok {
			continue
		}
		d.Conns[i].Txns = append(d.Conns[i].Txns, chartTxnOf(t, origin))
	}
	for _, f := range sortedFindings(r.Findings) {
		ids := f.Connections
		if f.Connection != 0 && !slices.Contains(ids, f.Connection) {
			ids = append([]int{f.Connection}, ids...)
		}
		for _, id := range ids {
			i, ok := index[id]
			if !ok {
				continue
			}
			c := &d.Conns[i]
			cf := chartFinding{Rule: clean(f.Rule), Severity: clean(f.Severity), Time: round3(relMS(f.Time, origin)),
				Frames: append([]uint64{}, f.Frames...), Times: []float64{}, Message: clean(f.Message)}
			for _, fr := range f.Frames {
				if t, ok := segmentTime(c.Segs, fr); ok {
					cf.Times = append(cf.Times, t)
				}
			}
			c.Finds = append(c.Finds, cf)
		}
	}
	return d
}

// segmentTime finds the time of frame among the chart segments.
func segmentTime(segs [][9]float64, frame uint64) (float64, bool) {
	for _, s := range segs {
		if uint64(s[8]) == frame {
			return s[0], true
		}
	}
	return 0, false
}

func chartTxnOf(t *analysis.TxnReport, origin analysis.Time) chartTxn {
	ct := chartTxn{ID: t.ID, Status: t.Status}
	label := t.Method + " " + t.Target
	if t.Request == nil {
		label = "(response only)"
	}
	ct.Label = textsafe.Truncate(clean(label), 120)
	span := func(a, b analysis.Time) *[2]float64 {
		x, y := round3(relMS(a, origin)), round3(relMS(b, origin))
		if math.IsNaN(x) || math.IsNaN(y) || y < x {
			return nil
		}
		return &[2]float64{x, y}
	}
	if q := t.Request; q != nil {
		ct.Send = span(q.Start, q.End)
		if c := millis(t.Timings.ConnectMS, -1); c >= 0 {
			// The handshake ended gap_before ms before the request.
			endMS := relMS(q.Start, origin) - millis(t.GapBeforeMS, 0)
			ct.Connect = &[2]float64{round3(endMS - c), round3(endMS)}
		}
		if s := t.Response; s != nil {
			ct.Wait = span(q.End, s.Start)
		}
	}
	if s := t.Response; s != nil {
		ct.Receive = span(s.Start, s.End)
		if !s.Complete {
			ct.Incomplete = clean(s.IncompleteReason)
		}
	} else {
		ct.NoResponse = true
	}
	ct.Detail = txnDetail(t)
	return ct
}

// txnDetail is the tooltip of a waterfall row.
func txnDetail(t *analysis.TxnReport) string {
	s := clean(t.Method + " " + t.Target + " " + t.Version)
	if t.Response != nil {
		s += "\n→ " + strconv.Itoa(t.Status) + " " + clean(t.Reason)
	} else {
		s += "\n→ no response captured"
	}
	add := func(name string, m *analysis.Millis) {
		if m != nil {
			s += "\n" + name + " " + fmtMS(float64(*m))
		}
	}
	add("connect", t.Timings.ConnectMS)
	add("send", t.Timings.SendMS)
	add("wait", t.Timings.WaitMS)
	add("receive", t.Timings.ReceiveMS)
	add("total", t.Timings.TotalMS)
	if t.Pipelined {
		s += "\npipelined"
	}
	return s
}
