package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/diagnose"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/internal/textsafe"
	"github.com/connscope/connscope/reassembly"
	"github.com/connscope/connscope/report"
)

const analyzeUsage = `Usage: connscope analyze [flags] FILE...

Reads each capture (pcap or pcapng, optionally gzip-compressed; - for
standard input), rebuilds its TCP connections and HTTP/1.x transactions,
and reports them. Several files give one section each.

Flags:
`

type analyzeFlags struct {
	reads      []string
	format     string
	output     string
	color      string
	enable     []string
	disable    []string
	thresholds []string
	config     string
	failOn     string
	// failOnFrom names where failOn came from once analysisOptions has
	// resolved it: "--fail-on", or "fail_on in FILE" for the config file.
	failOnFrom string
	// implicitConfig is the path of the configuration file analysisOptions
	// found in the working directory without --config naming it; "" when
	// --config was given or there is none.
	implicitConfig string
	// knownFindings are the findings the --baseline report already has
	// (set for JUnit only, which passes them).
	knownFindings map[*analysis.FindingReport]bool
	baseline      string
	live          liveFlags
	idle          time.Duration
	conn          int
	show          map[string]bool
	showList      []string
	allFindings   bool
	progress      string
	limits        limitFlags
}

// limitFlags bound what hostile or huge captures can make the analysis
// keep. Each hit limit is named in the input's warnings.
type limitFlags struct {
	maxConns, maxSegments, maxHeaderBytes, maxTxns int
	maxListedConns, maxListedTxns, maxOpenTxns     int
	maxSegmentsTotal                               int
}

// Default limits of connscope analyze. Together they keep the peak
// resident memory of one run under about 256 MB whatever the capture holds
// (internal/hostile proves it on adversarial captures; scripts/hostile-bench.sh
// measures it): an open connection with a request in flight costs about
// 9 KB of reassembly and parser state; a listed connection or transaction
// costs 24-48 bytes of index for the formats whose listing spills to disk
// (text, JSON, NDJSON), about 350 and 600 bytes of heap for the others.
const (
	defaultMaxConns       = 8192
	defaultMaxSegments    = 65536
	defaultMaxTxnsPerConn = 10000
)

func runAnalyze(args []string, stdio IO) error {
	var f analyzeFlags
	fs := pflag.NewFlagSet("analyze", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringArrayVarP(&f.reads, "read", "r", nil, "capture `FILE` to read (repeatable; - for standard input)")
	fs.StringVarP(&f.format, "format", "f", "text", "output `FORMAT`: "+formatNames)
	fs.StringSliceVar(&f.showList, "show", []string{"summary", "findings", "connections"}, "text only: sections to show, a comma-separated `LIST` of summary, findings, connections, transactions, or all (other formats have all; --show with them is an error)")
	fs.BoolVar(&f.allFindings, "all-findings", false, "text only: list every finding (by default each rule lists its first "+fmt.Sprint(findingsPerRule)+"; other formats list all, and refuse the flag)")
	fs.IntVar(&f.conn, "conn", 0, "text only: draw a timeline of connection `ID` (its segments and transactions)")
	fs.StringVar(&f.progress, "progress", "auto", "progress on stderr for large inputs `WHEN`: auto (over 100 MB, on a terminal), always or never")
	fs.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fs.StringVar(&f.color, "color", "auto", "colour the text report `WHEN`: auto, always or never (NO_COLOR is honoured; other formats refuse always)")
	fs.StringArrayVar(&f.enable, "enable", nil, "run only these `RULES` (IDs, slugs, globs, categories, all; comma-separated, repeatable)")
	fs.StringArrayVar(&f.disable, "disable", nil, "do not run these `RULES` (same forms as --enable)")
	fs.StringArrayVar(&f.thresholds, "threshold", nil, "override a rule threshold: `RULE.NAME=VALUE` (see 'connscope explain RULE')")
	fs.StringVar(&f.config, "config", "", "read rule selection, thresholds and fail_on from `FILE` (default: "+configFileName+" in the working directory, if present; stderr then names it)")
	fs.StringVar(&f.failOn, "fail-on", "", "exit 3 when a finding at or above `SEVERITY` (info, warning, error) remains")
	fs.StringVar(&f.baseline, "baseline", "", "an earlier JSON report `FILE`: findings already in it do not count for --fail-on")
	fs.StringVarP(&f.live.iface, "interface", "i", "", "capture live on `IFACE` instead of reading files; trailing arguments are a tcpdump filter expression")
	fs.BoolVarP(&f.live.noPromiscuous, "no-promiscuous", "p", false, "with -i: do not put the interface into promiscuous mode")
	fs.Uint64VarP(&f.live.count, "count", "c", 0, "with -i: stop after `N` packets")
	fs.DurationVar(&f.live.duration, "duration", 0, "with -i: stop after a duration `D` (e.g. 30s, 5m)")
	fs.StringVarP(&f.live.write, "write", "w", "", "with -i: also write the captured packets to pcapng `FILE`")
	fs.StringVar(&f.live.bpfFile, "bpf-file", "", "with -i: a filter in `FILE`, as tcpdump -ddd prints it")
	fs.DurationVar(&f.idle, "idle-timeout", 0, "close connections idle for `D` in capture time (default 10m)")
	fs.IntVar(&f.limits.maxConns, "max-conns", defaultMaxConns, "track at most `N` connections at once; beyond it the idlest is closed early")
	fs.IntVar(&f.limits.maxSegments, "max-segments-per-conn", defaultMaxSegments, "keep at most `N` segment records per connection (the oldest are released)")
	fs.IntVar(&f.limits.maxSegmentsTotal, "max-segments", reassembly.DefaultMaxSegmentsTotal, "keep at most `N` segment records for all open connections together (the busiest release their oldest)")
	fs.IntVar(&f.limits.maxHeaderBytes, "max-header-bytes", httpflow.DefaultMaxHeaderBytes, "keep at most `N` bytes of each message's header block")
	fs.IntVar(&f.limits.maxTxns, "max-txns-per-conn", defaultMaxTxnsPerConn, "keep at most `N` transactions per connection (later ones are parsed and counted, not kept)")
	fs.IntVar(&f.limits.maxOpenTxns, "max-open-txns", analysis.DefaultMaxOpenTransactions, "keep at most `N` transactions for all open connections together (later ones are parsed and counted, not kept)")
	fs.IntVar(&f.limits.maxListedConns, "max-listed-conns", analysis.DefaultMaxListedConnections, "list at most `N` connections in the report (the rest are counted and diagnosed)")
	fs.IntVar(&f.limits.maxListedTxns, "max-listed-txns", analysis.DefaultMaxListedTransactions, "list at most `N` transactions in the report (the rest are counted and diagnosed)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return usagef("analyze: %v", err)
	}
	if *help {
		fmt.Fprint(stdio.Stdout, analyzeUsage+fs.FlagUsages())
		return nil
	}
	inputs := append(f.reads, fs.Args()...)
	if f.live.iface != "" {
		if len(f.reads) > 0 {
			return usagef("analyze: -i captures live; it cannot be combined with -r")
		}
		inputs = nil
	} else if f.live != (liveFlags{}) {
		return usagef("analyze: -p, -c, --duration, -w and --bpf-file need -i")
	}
	if len(inputs) == 0 && f.live.iface == "" {
		return usagef("analyze: no capture given (name a FILE, or - for standard input)")
	}
	if i := slices.Index(inputs, "-"); i >= 0 && slices.Contains(inputs[i+1:], "-") {
		return usagef("analyze: standard input (-) can be read only once")
	}
	need, ok := formats[f.format]
	if !ok {
		return usagef("analyze: unknown --format %q (want %s)", f.format, formatNames)
	}
	// An empty --fail-on (a CI job's --fail-on "$LEVEL" with LEVEL unset)
	// would turn the gate off without a word; --baseline '' would compare
	// with nothing.
	for _, name := range []string{"fail-on", "baseline"} {
		if fs.Changed(name) && strings.TrimSpace(fs.Lookup(name).Value.String()) == "" {
			return usagef("analyze: --%s is empty", name)
		}
	}
	if fs.Changed("conn") && f.conn < 1 {
		return usagef("analyze: --conn %d: connection IDs run from 1 (the ID column of the connections table)", f.conn)
	}
	if f.conn != 0 && f.format != "text" {
		return usagef("analyze: --conn draws a text timeline; it cannot be combined with --format %s", f.format)
	}
	// --show and --all-findings shape the text report; every other format
	// has every section and every finding (HAR none), so a flag that would
	// be silently ignored is refused, as --conn is.
	if f.format != "text" {
		if fs.Changed("show") {
			return usagef("analyze: --show chooses sections of the text report; --format %s always has all of them (leave --show out)", f.format)
		}
		if fs.Changed("all-findings") {
			return usagef("analyze: --all-findings lists every finding in the text report; --format %s %s (leave --all-findings out)", f.format, findingsOf(f.format))
		}
		// "never" and "auto" ask for nothing another format lacks (a
		// script may pass --color never everywhere); "always" asks for
		// colour it would not get.
		if f.color == "always" {
			return usagef("analyze: --color always colours the text report; --format %s has no colour (leave --color out)", f.format)
		}
	}
	f.show = map[string]bool{}
	for _, s := range f.showList {
		switch s {
		case "all":
			for _, k := range []string{"summary", "findings", "connections", "transactions"} {
				f.show[k] = true
			}
		case "summary", "findings", "connections", "transactions":
			f.show[s] = true
		default:
			return usagef("analyze: --show %q: want summary, findings, connections, transactions or all", s)
		}
	}
	switch f.progress {
	case "auto", "always", "never":
	default:
		return usagef("analyze: unknown --progress %q (want auto, always or never)", f.progress)
	}
	switch f.color {
	case "auto", "always", "never":
	default:
		return usagef("analyze: unknown --color %q (want auto, always or never)", f.color)
	}

	if f.output != "" && f.output != "-" {
		if in := sameFileAs(f.output, inputs); in != "" {
			return usagef("analyze: --output %s is also an input (%s): writing the report there would destroy the capture before it is read", f.output, in)
		}
	}

	opts, failOn, err := analysisOptions(&f)
	if err != nil {
		return err
	}
	if f.implicitConfig != "" {
		// A file nobody named changes the rules and the gate: say so, on
		// stderr so that the report is the same as with --config.
		fmt.Fprintf(stdio.Stderr, "connscope: using %s (found in the working directory; --config names another file)\n",
			textsafe.Terminal(f.implicitConfig))
	}
	var base *baseline
	if f.baseline != "" {
		if base, err = loadBaseline(f.baseline); err != nil {
			return usagef("analyze: %v", err)
		}
	}

	if f.idle < 0 {
		return usagef("analyze: --idle-timeout %v: want a positive duration (0 or none for the default, 10m)", f.idle)
	}
	opts.Reassembly.IdleTimeout = int64(f.idle)
	if err := f.limits.apply(&opts); err != nil {
		return err
	}
	tuneGarbageCollector()
	opts.KeepSegments = need.keepSegments || f.conn != 0
	opts.KeepHeaders = need.keepHeaders
	if !listingInMemory {
		opts.SpillListing = need.spill
		opts.SpillThreshold = spillThreshold
		// The text report prints transactions only when asked to;
		// findings still cite them by the IDs a listing would give them.
		opts.OmitTransactions = f.format == "text" && !f.show["transactions"] && f.conn == 0 && base == nil
	}
	out := stdio.Stdout
	var file *os.File
	if f.output != "" && f.output != "-" {
		if file, err = os.Create(f.output); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		out = file
	}
	var stream *liveNDJSON
	if f.live.iface != "" {
		switch f.format {
		case "text":
			opts.Events = &liveText{w: out, p: newPalette(f.color, out)}
		case "ndjson":
			// Each record is one Write, so the escaping writer never holds
			// bytes back between records.
			stream = &liveNDJSON{s: report.NewNDJSONStream(textsafe.NewJSONWriter(out))}
			opts.Events = stream
			// As WriteNDJSON begins: which rules run, before any finding.
			rules, err := analysis.NewRulesReport(opts.Diagnose)
			if err == nil {
				err = stream.s.Rules(rules)
			}
			if err != nil {
				if file != nil {
					file.Close()
				}
				return fmt.Errorf("analyze: %w", err)
			}
		}
	}

	a := analysis.New(opts)
	var inputErrs []error
	if f.live.iface != "" {
		if err := analyzeLive(a, &f.live, fs.Args(), stdio.Stderr); err != nil {
			inputErrs = append(inputErrs, err)
		}
	}
	for _, name := range inputs {
		if err := analyzeInput(a, name, stdio.Stdin, progressFor(f.progress, stdio.Stderr)); err != nil {
			inputErrs = append(inputErrs, err)
		}
	}
	rep := a.Report()
	defer rep.Close()
	w := bufio.NewWriter(out)
	if stream != nil {
		err = stream.finish(rep)
	} else {
		if base != nil && f.format == "junit" {
			// Findings in the baseline do not fail the exit code; they
			// must not fail a JUnit case either.
			f.knownFindings, err = base.knownFindings(rep)
		}
		if err == nil {
			err = render(w, &f, rep, newPalette(f.color, out), enabledRules(opts))
		}
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	var ue *usageError
	if errors.As(err, &ue) {
		// Found only now (--conn naming no connection): the file -o made
		// holds nothing and must not pass for a report.
		if file != nil {
			if st, serr := os.Stat(f.output); serr == nil && st.Mode().IsRegular() {
				os.Remove(f.output)
			}
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("analyze: writing report: %w", err)
	}
	if len(inputErrs) > 0 {
		for _, e := range inputErrs[:len(inputErrs)-1] {
			fmt.Fprintf(stdio.Stderr, "connscope: %s\n", textsafe.Terminal(e.Error()))
		}
		return &exitCodeError{code: ExitFailure, err: inputErrs[len(inputErrs)-1]}
	}
	if failOn != 0 {
		counted := rep.Findings
		if base != nil {
			if counted, err = base.newFindings(rep); err != nil {
				return fmt.Errorf("analyze: --baseline: %w", err)
			}
		}
		n := 0
		for _, fr := range counted {
			if sev, err := diagnose.ParseSeverity(fr.Severity); err == nil && sev >= failOn {
				n++
			}
		}
		if n > 0 {
			return &exitCodeError{code: ExitFindings, err: fmt.Errorf("%d %s at or above %s (%s)", n, plural(n, "finding", "findings"), failOn, f.failOnFrom)}
		}
	}
	return nil
}

// analysisOptions builds the pipeline options from the flags and the config
// file, and returns the --fail-on severity (0 when not set).
func analysisOptions(f *analyzeFlags) (analysis.Options, diagnose.Severity, error) {
	var opts analysis.Options
	cfg, cfgName, err := loadConfig(f.config)
	if err != nil {
		return opts, 0, usagef("analyze: %v", err)
	}
	if f.config == "" && cfgName != "" {
		f.implicitConfig = cfgName
		if abs, err := filepath.Abs(cfgName); err == nil {
			f.implicitConfig = abs
		}
	}
	sel, err := newRuleSelector(append(cfg.Enable, f.enable...), append(cfg.Disable, f.disable...))
	if err != nil {
		if cfgName != "" {
			return opts, 0, usagef("analyze: %v (rule selection from flags and %s)", err, cfgName)
		}
		return opts, 0, usagef("analyze: %v", err)
	}
	opts.Diagnose.Enabled = sel.Enabled
	flagThresholds := map[string]float64{}
	for _, kv := range f.thresholds {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return opts, 0, usagef("analyze: --threshold %q: want RULE.NAME=VALUE", kv)
		}
		x, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return opts, 0, usagef("analyze: --threshold %q: %q is not a number", kv, strings.TrimSpace(v))
		}
		flagThresholds[canonicalThreshold(strings.TrimSpace(k))] = x
	}
	// Let the engine reject unknown threshold names and bad values now, as
	// a usage error that says where the threshold came from: the file as
	// written first (one threshold spelled twice in it is an error), then
	// the flags on top of it. A flag wins over the file however either
	// names the rule, and a min-X from one may lean on a max-X from the
	// other.
	check := opts.Diagnose
	if len(cfg.Thresholds) > 0 {
		check.Thresholds = cfg.Thresholds
		if _, err := diagnose.NewEngine(check); err != nil {
			return opts, 0, usagef("analyze: thresholds in %s: %v", cfgName, err)
		}
	}
	merged := map[string]float64{}
	for k, v := range cfg.Thresholds {
		merged[canonicalThreshold(k)] = v
	}
	if len(flagThresholds) > 0 {
		for k, v := range flagThresholds {
			merged[k] = v
		}
		check.Thresholds = merged
		if _, err := diagnose.NewEngine(check); err != nil {
			return opts, 0, usagef("analyze: --threshold: %v", err)
		}
	}
	opts.Diagnose.Thresholds = merged
	if _, err := diagnose.NewEngine(opts.Diagnose); err != nil {
		return opts, 0, usagef("analyze: %v", err)
	}
	// The file's fail_on is checked as written, whether or not the flag
	// overrides it: an empty one ("fail_on": "$LEVEL" with LEVEL unset)
	// is the mistake --fail-on '' is, not "no gate".
	var failOnName, failOnFrom string
	if cfg.FailOn != nil {
		failOnName, failOnFrom = *cfg.FailOn, "fail_on in "+cfgName
		if strings.TrimSpace(failOnName) == "" {
			return opts, 0, usagef("analyze: %s is empty: name a severity (info, warning or error), or leave fail_on out for no gate", failOnFrom)
		}
		if _, err := diagnose.ParseSeverity(failOnName); err != nil {
			return opts, 0, usagef("analyze: %s: %v", failOnFrom, err)
		}
	}
	// The flag wins over the file; the resolved name goes back into f so
	// that every report (JUnit's failing cases) uses the same severity as
	// the exit code.
	if f.failOn != "" {
		failOnName, failOnFrom = f.failOn, "--fail-on"
	}
	f.failOn, f.failOnFrom = failOnName, failOnFrom
	var failOn diagnose.Severity
	if failOnName != "" {
		if failOn, err = diagnose.ParseSeverity(failOnName); err != nil {
			return opts, 0, usagef("analyze: %s: %v", failOnFrom, err)
		}
	}
	return opts, failOn, nil
}

// canonicalThreshold spells a threshold key with its rule's ID (a slug
// becomes CH1007), so that a flag overrides the file however either names
// the rule; keys naming no rule are left for the engine to refuse.
func canonicalThreshold(key string) string {
	rule, name, ok := strings.Cut(key, ".")
	if !ok {
		return key
	}
	if r := diagnose.Lookup(rule); r != nil {
		return r.ID + "." + name
	}
	return key
}

// findingsOf says what a non-text format holds of the findings.
func findingsOf(format string) string {
	if format == "har" {
		return "has no findings"
	}
	return "already has every one"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// analyzeInput opens and analyses one input. Damage part way through is
// returned as an error after what came before it was analysed.
func analyzeInput(a *analysis.Analyzer, name string, stdin io.Reader, progress *progressMeter) error {
	var r *capture.Reader
	var err error
	if name == "-" {
		// The report lists the input as "-", as it was given; errors and
		// warnings say what it is.
		r, err = capture.NewReader(stdin, "standard input")
	} else {
		r, err = capture.Open(name)
	}
	if err != nil {
		a.AddUnreadable(name, err)
		return err
	}
	defer r.Close()
	var src analysis.Source = r
	if progress != nil && progress.wants(r.Size()) {
		src = progress.wrap(name, r)
		defer progress.done()
	}
	return a.AddSource(name, r.Format(), src)
}

// sameFileAs returns the first of inputs that is the file output names
// (by any path: os.SameFile compares the files, not the names), or "" when
// none is or output does not exist yet.
func sameFileAs(output string, inputs []string) string {
	out, err := os.Stat(output)
	if err != nil {
		return ""
	}
	for _, name := range inputs {
		if name == "-" {
			continue
		}
		if in, err := os.Stat(name); err == nil && os.SameFile(out, in) {
			return name
		}
	}
	return ""
}

// enabledRules lists the rules the selection left on, for JUnit.
func enabledRules(opts analysis.Options) []*diagnose.Rule {
	// Never nil: to the JUnit writer nil means every rule, and with every
	// rule disabled (--disable all) none ran.
	out := []*diagnose.Rule{}
	for _, r := range diagnose.Rules() {
		if opts.Diagnose.Enabled == nil || opts.Diagnose.Enabled(r) {
			out = append(out, r)
		}
	}
	return out
}

// writeJSON writes the report an element at a time (byte for byte what
// encoding/json with a two-space indent writes, <, > and & escaped so the
// JSON is also safe to paste into an HTML page) without first building the
// whole document in memory.
func writeJSON(w io.Writer, r *analysis.Report) error { return r.WriteJSON(w) }

// Test hooks: spillThreshold is analysis.Options.SpillThreshold (0, the
// default, for the analysis's default); listingInMemory keeps the listing
// in the report's slices for every format, as before the listing could
// spill. Tests compare the two.
var (
	spillThreshold  int
	listingInMemory bool
)

var errNoRules = errors.New("no diagnostic rules are registered")

// softMemoryLimit is the Go runtime's soft memory limit during analyze
// (GOMEMLIMIT overrides it). Near it the garbage collector runs more often,
// so peak RSS stays close to the live heap instead of up to twice it; it
// is a target for the collector, not a cap that fails the run.
const softMemoryLimit = 192 << 20

// gcPercent is the collector's GOGC during analyze (the GOGC variable
// overrides it). With the listing off the heap, the live heap of a run is
// the pipeline's, about 20 MB on a 1.2 GB capture of 40 000 connections;
// at Go's default of 100 the heap grows to twice that between collections
// and peak RSS reaches 60-62 MiB, at 75 it stays at 50-55 MiB for the same
// CPU time (bench/README.md). A lower soft limit instead (48 MiB) would
// hold small runs lower still, but makes the collector run without pause
// once the live heap passes it: a SYN flood took seven times the CPU.
const gcPercent = 75

// tuneGarbageCollector applies softMemoryLimit and gcPercent, unless
// GOMEMLIMIT or GOGC say otherwise.
func tuneGarbageCollector() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(softMemoryLimit)
	}
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(gcPercent)
	}
}

// apply sets the limits in the pipeline options; a limit must be positive.
func (l limitFlags) apply(opts *analysis.Options) error {
	for _, x := range []struct {
		flag string
		v    int
	}{{"--max-conns", l.maxConns}, {"--max-segments-per-conn", l.maxSegments}, {"--max-segments", l.maxSegmentsTotal}, {"--max-header-bytes", l.maxHeaderBytes},
		{"--max-txns-per-conn", l.maxTxns}, {"--max-open-txns", l.maxOpenTxns}, {"--max-listed-conns", l.maxListedConns}, {"--max-listed-txns", l.maxListedTxns}} {
		if x.v <= 0 {
			return usagef("analyze: %s %d: want a positive number", x.flag, x.v)
		}
	}
	opts.Reassembly.MaxConnections = l.maxConns
	opts.Reassembly.MaxSegmentsPerConn = l.maxSegments
	opts.Reassembly.MaxSegmentsTotal = l.maxSegmentsTotal
	opts.HTTP.MaxHeaderBytes = l.maxHeaderBytes
	opts.HTTP.MaxTransactionsPerConn = l.maxTxns
	opts.MaxOpenTransactions = l.maxOpenTxns
	opts.MaxListedConnections = l.maxListedConns
	opts.MaxListedTransactions = l.maxListedTxns
	return nil
}
