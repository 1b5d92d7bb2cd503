package cli

// Exit codes, in one place (as golangci-lint's pkg/exitcodes does).
const (
	// ExitOK: the run finished and nothing crossed --fail-on.
	ExitOK = 0
	// ExitFailure: the tool failed, e.g. an input could not be read or was
	// damaged (what was read before the damage is still reported).
	ExitFailure = 1
	// ExitUsage: the command line was wrong.
	ExitUsage = 2
	// ExitFindings: the run finished and a finding at or above the
	// --fail-on severity remains.
	ExitFindings = 3
)
