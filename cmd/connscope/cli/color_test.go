package cli

import (
	"os"
	"testing"
)

// TestAutoColor follows https://no-color.org: NO_COLOR turns colour off
// when it is set to a non-empty value (an empty one is the same as unset),
// and a dumb terminal gets none either; otherwise auto colours a terminal
// and nothing else.
func TestAutoColor(t *testing.T) {
	for _, tc := range []struct {
		desc          string
		noColor, term string
		unsetNoColor  bool
		terminal      bool
		want          bool
	}{
		{desc: "terminal, NO_COLOR unset", unsetNoColor: true, term: "xterm-256color", terminal: true, want: true},
		{desc: "terminal, NO_COLOR empty", noColor: "", term: "xterm-256color", terminal: true, want: true},
		{desc: "terminal, NO_COLOR=1", noColor: "1", term: "xterm-256color", terminal: true, want: false},
		{desc: "terminal, NO_COLOR=0 (any value counts)", noColor: "0", term: "xterm", terminal: true, want: false},
		{desc: "dumb terminal", unsetNoColor: true, term: "dumb", terminal: true, want: false},
		{desc: "not a terminal", unsetNoColor: true, term: "xterm", terminal: false, want: false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			t.Setenv("NO_COLOR", tc.noColor)
			if tc.unsetNoColor {
				unsetEnv(t, "NO_COLOR")
			}
			t.Setenv("TERM", tc.term)
			if got := autoColor(tc.terminal); got != tc.want {
				t.Errorf("autoColor(terminal %v) = %v, want %v", tc.terminal, got, tc.want)
			}
		})
	}
}

// unsetEnv removes key for the rest of the test (t.Setenv first, so that
// the testing package restores the old value afterwards).
func unsetEnv(t *testing.T, key string) {
	t.Helper()
	t.Setenv(key, "")
	if err := os.Unsetenv(key); err != nil {
		t.Fatal(err)
	}
}
