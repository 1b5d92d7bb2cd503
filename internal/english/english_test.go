package english

import "testing"

func TestCountWords(t *testing.T) {
	for _, tc := range []struct {
		n                 int
		noun, verb, their string
	}{
		{0, "holes", "were", "their"},
		{1, "hole", "was", "its"},
		{2, "holes", "were", "their"},
	} {
		if got := Noun(tc.n, "hole"); got != tc.noun {
			t.Errorf("Noun(%d) = %q, want %q", tc.n, got, tc.noun)
		}
		if got := WasWere(tc.n); got != tc.verb {
			t.Errorf("WasWere(%d) = %q, want %q", tc.n, got, tc.verb)
		}
		if got := ItsTheir(tc.n); got != tc.their {
			t.Errorf("ItsTheir(%d) = %q, want %q", tc.n, got, tc.their)
		}
	}
}
