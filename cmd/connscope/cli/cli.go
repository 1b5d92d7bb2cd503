// Package cli is connscope's command line: it parses arguments, runs the
// analysis and renders the report. main only calls Run.
package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"

	"github.com/connscope/connscope/internal/textsafe"
)

// Version is the release version, set at build time with
// -ldflags "-X github.com/connscope/connscope/cmd/connscope/cli.Version=v1.2.3".
var Version = ""

// IO holds the streams a run uses, so tests can run the CLI in process.
type IO struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Stdio returns the process's standard streams.
func Stdio() IO { return IO{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr} }

// usageError marks a command-line mistake (exit code 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

const mainUsage = `connscope reads packet captures, rebuilds every TCP connection, lines up each
HTTP/1.x transaction with the segments that carried it, and explains what
connection management cost.

Usage:
  connscope analyze [flags] FILE...     analyse capture files (- for standard input)
  connscope rules [--format json]       list the diagnostic rules
  connscope explain RULE                print a rule's documentation
  connscope version                     print the version

Run 'connscope analyze --help' for the analysis flags.

Exit codes: 0 ran fine, 1 the tool failed (unreadable or damaged input),
2 usage error, 3 findings at or above --fail-on remain.
`

// Run runs connscope with args (without the program name) and returns the
// process exit code.
func Run(args []string, stdio IO) int {
	err := run(args, stdio)
	if err == nil {
		return ExitOK
	}
	// Messages name files, which may hold terminal escape sequences:
	// they are shown escaped, as the report shows them.
	var ue *usageError
	var ec *exitCodeError
	switch {
	case errors.As(err, &ec):
		if ec.err != nil {
			fmt.Fprintf(stdio.Stderr, "connscope: %s\n", textsafe.Terminal(ec.err.Error()))
		}
		return ec.code
	case errors.As(err, &ue):
		fmt.Fprintf(stdio.Stderr, "connscope: %s\nRun '%s' for usage.\n", textsafe.Terminal(ue.msg), helpCommand(args))
		return ExitUsage
	default:
		fmt.Fprintf(stdio.Stderr, "connscope: %s\n", textsafe.Terminal(err.Error()))
		return ExitFailure
	}
}

// helpCommand is the help that lists what a usage error in args is about:
// the command's own (its flags), or the top level's for anything else.
func helpCommand(args []string) string {
	if len(args) > 0 {
		switch args[0] {
		case "analyze", "analyse":
			return "connscope analyze --help"
		case "rules", "explain":
			return "connscope " + args[0] + " --help"
		}
	}
	return "connscope --help"
}

// exitCodeError carries a specific exit code (and maybe a message).
type exitCodeError struct {
	code int
	err  error
}

func (e *exitCodeError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func run(args []string, stdio IO) error {
	if len(args) == 0 {
		fmt.Fprint(stdio.Stderr, mainUsage)
		return &exitCodeError{code: ExitUsage}
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdio.Stdout, mainUsage)
		return nil
	case "-v", "--version", "version":
		fmt.Fprintf(stdio.Stdout, "connscope %s\n", version())
		return nil
	case "analyze", "analyse":
		return runAnalyze(args[1:], stdio)
	case "rules":
		return runRules(args[1:], stdio)
	case "explain":
		return runExplain(args[1:], stdio)
	}
	return usagef("unknown command %q", args[0])
}

// version reports Version, or the module version the binary was built from.
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
