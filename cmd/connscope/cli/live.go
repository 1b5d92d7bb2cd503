package cli

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/bpf"
	"github.com/connscope/connscope/capture/live"
	"github.com/connscope/connscope/capture/pcapngw"
	"github.com/connscope/connscope/internal/textsafe"
)

// liveFlags are the analyze flags that only apply with -i.
type liveFlags struct {
	iface         string
	noPromiscuous bool
	count         uint64
	duration      time.Duration
	write         string
	bpfFile       string
}

// analyzeLive captures on an interface until -c, --duration, Ctrl-C or
// SIGTERM, analysing as it goes; filterArgs are a tcpdump filter expression.
func analyzeLive(a *analysis.Analyzer, lf *liveFlags, filterArgs []string, stderr io.Writer) error {
	opts := live.Options{
		Filter:        strings.Join(filterArgs, " "),
		NoPromiscuous: lf.noPromiscuous,
		Count:         lf.count,
		Duration:      lf.duration,
	}
	if lf.bpfFile != "" {
		text, err := os.ReadFile(lf.bpfFile)
		if err != nil {
			return fmt.Errorf("--bpf-file: %w", err)
		}
		if opts.Program, err = bpf.ParseDDD(string(text)); err != nil {
			return fmt.Errorf("--bpf-file %s: %w", lf.bpfFile, err)
		}
	}
	src, err := live.Open(lf.iface, opts)
	if err != nil {
		a.AddUnreadable(lf.iface, err)
		return err
	}
	defer src.Close()

	var packets Source = src
	var tee *teeSource
	var w *pcapngw.Writer
	var wfile *os.File
	if lf.write != "" {
		if wfile, err = os.Create(lf.write); err != nil {
			return fmt.Errorf("-w: %w", err)
		}
		defer wfile.Close()
		w, err = pcapngw.NewWriter(wfile, "connscope "+version(), pcapngw.Interface{Name: lf.iface, LinkType: src.LinkType(), Snaplen: src.Snaplen()})
		if err != nil {
			return fmt.Errorf("-w %s: %w", lf.write, err)
		}
		tee = &teeSource{src: src, w: w}
		packets = tee
	}

	stop := make(chan os.Signal, 2)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	var once sync.Once
	done := make(chan struct{})
	defer func() { signal.Stop(stop); close(done) }()
	go func() {
		select {
		case <-stop:
			once.Do(func() { fmt.Fprintln(stderr, "connscope: stopping; the report follows") })
			src.Stop()
		case <-done:
		}
	}()

	fmt.Fprintf(stderr, "connscope: capturing on %s%s\n", lf.iface, filterNote(opts.Filter, lf.bpfFile))
	readErr := a.AddSource(lf.iface, "live", packets)

	received, drops := src.Stats()
	if drops > 0 {
		a.Warn(fmt.Sprintf("the kernel dropped %d of %d %s (the ring was full): connections and findings may be missing", drops, received, plural(int(received), "packet", "packets")))
	}
	if w != nil {
		if tee.err != nil && readErr == nil {
			readErr = fmt.Errorf("-w %s: %w", lf.write, tee.err)
		}
		st := pcapngw.Stats{Start: tee.first, End: tee.last, Received: received, Dropped: drops}
		if err := w.WriteStats(st); err != nil && readErr == nil {
			readErr = fmt.Errorf("-w %s: %w", lf.write, err)
		}
		if err := w.Flush(); err != nil && readErr == nil {
			readErr = fmt.Errorf("-w %s: %w", lf.write, err)
		}
	}
	return readErr
}

func filterNote(filter, bpfFile string) string {
	switch {
	case bpfFile != "":
		return " with the filter in " + bpfFile
	case filter != "":
		return " with filter " + textsafe.Terminal(filter)
	}
	return ""
}

// Source is what the analysis reads packets from.
type Source = analysis.Source

// teeSource writes every packet it passes on to a pcapng file.
type teeSource struct {
	src         Source
	w           *pcapngw.Writer
	err         error
	first, last int64 // capture times of the first and last packet
}

func (t *teeSource) Next() (*capture.Packet, error) {
	p, err := t.src.Next()
	if err != nil {
		return p, err
	}
	t.write(p)
	return p, nil
}

// NextOrTick passes the live source's ticks on (analysis.TickingSource),
// so that with -w a closed connection is still reported while the
// interface is quiet; a tick is not a packet and is not written.
func (t *teeSource) NextOrTick() (*capture.Packet, int64, error) {
	ticking, ok := t.src.(analysis.TickingSource)
	if !ok {
		p, err := t.Next()
		return p, 0, err
	}
	p, tick, err := ticking.NextOrTick()
	if err != nil || p == nil {
		return p, tick, err
	}
	t.write(p)
	return p, 0, nil
}

func (t *teeSource) write(p *capture.Packet) {
	if t.first == 0 {
		t.first = p.Time
	}
	t.last = p.Time
	if t.err == nil {
		t.err = t.w.WritePacket(p)
	}
}

// liveText prints connections and findings while a live capture runs, and
// each transaction as soon as it is answered (analysis.TransactionEvents):
// a keep-alive connection may stay open for minutes.
type liveText struct {
	w     io.Writer
	p     *palette
	start analysis.Time
	// shown holds the transactions printed before their connection closed.
	shown map[int]bool
}

func (l *liveText) Transaction(t *analysis.TxnReport) {
	if l.shown == nil {
		l.shown = map[int]bool{}
	}
	l.shown[t.ID] = true
	at := analysis.Time(0)
	if t.Response != nil {
		at = t.Response.End
	} else if t.Request != nil {
		at = t.Request.End
	}
	fmt.Fprintf(l.w, "%s conn %d %s\n", l.p.dim.Sprintf("[%s]", at), t.Connection, liveTxnLine(t))
}

func (l *liveText) Connection(c *analysis.ConnReport, txns []*analysis.TxnReport) {
	if l.start == 0 {
		l.start = c.Start
	}
	fmt.Fprintf(l.w, "%s conn %d %s → %s %s, %s, %d %s, %s/%s\n",
		l.p.dim.Sprintf("[%s]", c.End), c.ID, c.Client, c.Server, c.State, c.HowClosed(),
		len(txns), plural(len(txns), "transaction", "transactions"),
		byteSize(c.Bytes.ClientToServer), byteSize(c.Bytes.ServerToClient))
	for _, t := range txns {
		if l.shown[t.ID] {
			delete(l.shown, t.ID) // printed when it was answered
			continue
		}
		fmt.Fprintf(l.w, "    %s\n", liveTxnLine(t))
	}
}

// liveTxnLine is a transaction in one line: method, target, status and
// total time, the captured text made safe for a terminal.
func liveTxnLine(t *analysis.TxnReport) string {
	status := "-"
	if t.Status != 0 {
		status = fmt.Sprint(t.Status)
	}
	return fmt.Sprintf("%s %s → %s  total %s", textsafe.Truncate(textsafe.Terminal(t.Method), 16),
		textsafe.Truncate(textsafe.Terminal(t.Target), 60), status, optMillis(t.Timings.TotalMS))
}

func (l *liveText) Finding(f *analysis.FindingReport) {
	fmt.Fprintf(l.w, "%s %s %s %s conn %d: %s\n", l.p.dim.Sprintf("[%s]", f.Time), l.p.severity(f.Severity),
		f.Rule, f.Slug, f.Connection, textsafe.Terminal(f.Message))
}
