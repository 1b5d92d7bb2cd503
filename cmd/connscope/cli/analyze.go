package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
)

const analyzeUsage = `Usage: connscope analyze [flags] FILE...

Reads each capture (pcap or pcapng, optionally gzip-compressed; - for
standard input), rebuilds its TCP connections and HTTP/1.x transactions,
and reports them. Several files give one section each.

Flags:
`

type analyzeFlags struct {
	reads  []string
	format string
	output string
	color  string
}

func runAnalyze(args []string, stdio IO) error {
	var f analyzeFlags
	fs := pflag.NewFlagSet("analyze", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringArrayVarP(&f.reads, "read", "r", nil, "capture `FILE` to read (repeatable; - for standard input)")
	fs.StringVarP(&f.format, "format", "f", "text", "output `FORMAT`: text or json")
	fs.StringVarP(&f.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fs.StringVar(&f.color, "color", "auto", "colour the text report: auto, always or never (NO_COLOR is honoured)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return usagef("analyze: %v", err)
	}
	if *help {
		fmt.Fprint(stdio.Stdout, analyzeUsage+fs.FlagUsages())
		return nil
	}
	inputs := append(f.reads, fs.Args()...)
	if len(inputs) == 0 {
		return usagef("analyze: no capture given (name a FILE, or - for standard input)")
	}
	switch f.format {
	case "text", "json":
	default:
		return usagef("analyze: unknown --format %q (want text or json)", f.format)
	}
	switch f.color {
	case "auto", "always", "never":
	default:
		return usagef("analyze: unknown --color %q (want auto, always or never)", f.color)
	}

	a := analysis.New(analysis.Options{})
	var inputErrs []error
	for _, name := range inputs {
		if err := analyzeInput(a, name, stdio.Stdin); err != nil {
			inputErrs = append(inputErrs, err)
		}
	}
	report := a.Report()

	out := stdio.Stdout
	var file *os.File
	if f.output != "" && f.output != "-" {
		var err error
		if file, err = os.Create(f.output); err != nil {
			return fmt.Errorf("analyze: %w", err)
		}
		out = file
	}
	w := bufio.NewWriter(out)
	var err error
	switch f.format {
	case "json":
		err = writeJSON(w, report)
	default:
		err = writeText(w, report, newPalette(f.color, out))
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("analyze: writing report: %w", err)
	}
	if len(inputErrs) > 0 {
		for _, e := range inputErrs[:len(inputErrs)-1] {
			fmt.Fprintf(stdio.Stderr, "connscope: %v\n", e)
		}
		return &exitCodeError{code: ExitFailure, err: inputErrs[len(inputErrs)-1]}
	}
	return nil
}

// analyzeInput opens and analyses one input. Damage part way through is
// returned as an error after what came before it was analysed.
func analyzeInput(a *analysis.Analyzer, name string, stdin io.Reader) error {
	var r *capture.Reader
	var err error
	if name == "-" {
		r, err = capture.NewReader(stdin, "-")
	} else {
		r, err = capture.Open(name)
	}
	if err != nil {
		a.AddUnreadable(name, err)
		return err
	}
	defer r.Close()
	return a.AddSource(name, r.Format(), r)
}

func writeJSON(w io.Writer, r *analysis.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	// SetEscapeHTML stays on: <, > and & in captured text become \u003c...
	// so the JSON is also safe to paste into an HTML page.
	return enc.Encode(r)
}

var errNoRules = errors.New("no diagnostic rules are registered")
