package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/connscope/connscope/diagnose"
)

// ruleJSON is one rule in `connscope rules --format json`.
type ruleJSON struct {
	ID         string          `json:"id"`
	Slug       string          `json:"slug"`
	Title      string          `json:"title"`
	Severity   string          `json:"severity"`
	Scope      string          `json:"scope"`
	Since      string          `json:"since"`
	Doc        ruleDocJSON     `json:"doc"`
	Thresholds []thresholdJSON `json:"thresholds"`
}

type ruleDocJSON struct {
	What      string `json:"what"`
	Detection string `json:"detection"`
	Why       string `json:"why"`
	Fix       string `json:"fix"`
}

type thresholdJSON struct {
	Name    string  `json:"name"`
	Default float64 `json:"default"`
	Unit    string  `json:"unit"`
	Doc     string  `json:"doc"`
}

func runRules(args []string, stdio IO) error {
	fs := pflag.NewFlagSet("rules", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	format := fs.StringP("format", "f", "text", "output `FORMAT`: text or json")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return usagef("rules: %v", err)
	}
	if *help {
		fmt.Fprint(stdio.Stdout, "Usage: connscope rules [--format text|json]\n\nLists every diagnostic rule.\n\nFlags:\n"+fs.FlagUsages())
		return nil
	}
	if fs.NArg() > 0 {
		return usagef("rules: takes no arguments; for one rule's documentation run 'connscope explain %s'", fs.Arg(0))
	}
	rules := diagnose.Rules()
	if len(rules) == 0 {
		return errNoRules
	}
	switch *format {
	case "json":
		out := make([]ruleJSON, 0, len(rules))
		for _, r := range rules {
			out = append(out, toRuleJSON(r))
		}
		enc := json.NewEncoder(stdio.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Schema string     `json:"schema"`
			Rules  []ruleJSON `json:"rules"`
		}{"connscope/rules/v1", out})
	case "text":
		tw := tabwriter.NewWriter(stdio.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tSLUG\tSEVERITY\tTITLE")
		for _, r := range rules {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.ID, r.Slug, r.Severity, r.Title)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(stdio.Stdout, "\nRun 'connscope explain ID' for a rule's documentation.")
		return nil
	}
	return usagef("rules: unknown --format %q (want text or json)", *format)
}

func toRuleJSON(r *diagnose.Rule) ruleJSON {
	j := ruleJSON{
		ID: r.ID, Slug: r.Slug, Title: r.Title, Severity: r.Severity.String(),
		Scope: r.Scope.String(), Since: r.Since,
		Doc:        ruleDocJSON{r.Doc.What, r.Doc.Detection, r.Doc.Why, r.Doc.Fix},
		Thresholds: []thresholdJSON{},
	}
	for _, t := range r.Thresholds {
		j.Thresholds = append(j.Thresholds, thresholdJSON{t.Name, t.Default, t.Unit, t.Doc})
	}
	return j
}

func runExplain(args []string, stdio IO) error {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		if len(args) == 1 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stdio.Stdout, "Usage: connscope explain RULE\n\nPrints the documentation of a rule, named by ID (CH1001) or slug.")
			return nil
		}
		return usagef("explain: name one rule by ID or slug (see 'connscope rules')")
	}
	r := diagnose.Lookup(args[0])
	if r == nil {
		return usagef("explain: no rule %q (see 'connscope rules')", args[0])
	}
	w := stdio.Stdout
	fmt.Fprintf(w, "%s %s: %s\n", r.ID, r.Slug, r.Title)
	fmt.Fprintf(w, "Severity: %s. Scope: %s. Since: %s.\n", r.Severity, r.Scope, r.Since)
	for _, s := range []struct{ head, text string }{
		{"What it means", r.Doc.What},
		{"How it is detected", r.Doc.Detection},
		{"Why it matters", r.Doc.Why},
		{"How to fix it", r.Doc.Fix},
	} {
		fmt.Fprintf(w, "\n%s\n%s\n", s.head, wrap(s.text, 78, "  "))
	}
	if len(r.Thresholds) > 0 {
		fmt.Fprintf(w, "\nThresholds (override with --threshold %s.NAME=VALUE)\n", r.ID)
		for _, t := range r.Thresholds {
			fmt.Fprintf(w, "  %s = %g %s\n%s\n", t.Name, t.Default, t.Unit, wrap(t.Doc, 78, "      "))
		}
	}
	return nil
}

// wrap fills text to width, each line starting with indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	for pi, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if pi > 0 {
			b.WriteString("\n\n")
		}
		line := indent
		for _, word := range strings.Fields(para) {
			if len(line) > len(indent) && len(line)+1+len(word) > width {
				b.WriteString(line + "\n")
				line = indent
			}
			if len(line) > len(indent) {
				line += " "
			}
			line += word
		}
		b.WriteString(line)
	}
	return b.String()
}
