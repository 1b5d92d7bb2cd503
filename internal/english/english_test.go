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

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{
		0: "0th", 1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 10: "10th", 11: "11th", 12: "12th", 13: "13th",
		21: "21st", 22: "22nd", 23: "23rd", 101: "101st", 111: "111th", 112: "112th", 1002: "1002nd",
	} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
