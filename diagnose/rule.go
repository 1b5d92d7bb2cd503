package diagnose

// Rule is one diagnostic check, as a value: its identity, documentation,
// thresholds and the function that looks for it. Rules are listed once,
// in the registry (registry.go).
type Rule struct {
	// ID is stable and never reused: a category prefix and a number
	// (CT = TCP behaviour, CH = HTTP connection handling, CC = closing).
	ID string
	// Slug is a short, stable, kebab-case name usable instead of the ID.
	Slug string
	// Title is a one-line summary.
	Title    string
	Severity Severity
	Doc      Doc
	// Thresholds the rule reads; each can be overridden by Config.
	Thresholds []Threshold
	// Since is the connscope version that introduced the rule.
	Since string
	Scope Scope

	// Exactly one of these is set, matching Scope.
	checkConnection func(p *connPass)
	checkCapture    func(p *capturePass)
	// onlyWith, for a connection-scope rule, lists facts of which the
	// connection must have at least one for the rule to find anything:
	// the Engine does not call the rule on a connection with none of them
	// (most connections of a capture of short, clean ones). It is only a
	// shortcut: the rule still checks for itself, and zero (the default)
	// calls it on every connection.
	onlyWith connFacts
}

// Doc is a rule's documentation, one section per question a user asks.
type Doc struct {
	What      string // what the finding means
	Detection string // how it is detected on the wire
	Why       string // why it matters
	Fix       string // how to fix it in common clients and servers
}

// Threshold is a tunable number a rule compares against.
//
// An override must make sense for the unit: a count is a whole number, a
// ratio lies between 0 and 1, nothing is below Min, and a "min-X"
// threshold is at most its rule's "max-X" (NewEngine checks all of it).
type Threshold struct {
	Name    string  // kebab-case; overridden as "ID.name" or "slug.name"
	Default float64 // in Unit
	Unit    string  // "ms", "s", "count", "ratio" or "bytes"
	Doc     string
	Min     float64 // smallest meaningful value (0: any non-negative one)
}

// Scope says what a rule looks at.
type Scope uint8

const (
	// ScopeConnection rules look at one connection (its segments and
	// transactions) when it closes.
	ScopeConnection Scope = iota + 1
	// ScopeCapture rules look across connections once the capture ends,
	// using the summaries the engine kept.
	ScopeCapture
)

func (s Scope) String() string {
	switch s {
	case ScopeConnection:
		return "connection"
	case ScopeCapture:
		return "capture"
	}
	return "unknown"
}

// thresholdIndex returns the index of the rule's threshold called name, or
// -1.
func (r *Rule) thresholdIndex(name string) int {
	for i := range r.Thresholds {
		if r.Thresholds[i].Name == name {
			return i
		}
	}
	return -1
}
