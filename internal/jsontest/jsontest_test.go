package jsontest

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

type inner struct {
	N int8    `json:"n"`
	U uint16  `json:"u,omitempty"`
	F float64 `json:"f"`
}

type sample struct {
	A      string  `json:"a"`
	B      bool    `json:"b,omitempty"`
	Plain  int64   // no tag: the Go name
	Hidden string  `json:"-"`
	Dash   int     `json:"-,"` // a member called "-"
	P      *inner  `json:"p"`
	S      []inner `json:"s"`
	hidden int
}

func TestMembers(t *testing.T) {
	want := []Member{{0, "A", "a"}, {1, "B", "b"}, {2, "Plain", "Plain"}, {4, "Dash", "-"}, {5, "P", "p"}, {6, "S", "s"}}
	if got := Members(reflect.TypeFor[sample]()); !slices.Equal(got, want) {
		t.Fatalf("Members: %v, want %v", got, want)
	}
	if got := Names(reflect.TypeFor[inner]()); !slices.Equal(got, []string{"n", "u", "f"}) {
		t.Fatalf("Names: %v", got)
	}
}

// A full fill sets every field non-zero, in range, the hidden one only
// with Hidden; a random one leaves some zero.
func TestFiller(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, hidden := range []bool{false, true} {
		for range 200 {
			var s sample
			(&Filler{Rand: rng, Full: true, Hidden: hidden, T: t}).Fill(reflect.ValueOf(&s).Elem())
			if s.A == "" || !s.B || s.Plain == 0 || s.Dash == 0 || s.P == nil || len(s.S) == 0 || s.hidden != 0 {
				t.Fatalf("full fill left a field zero: %+v", s)
			}
			if (s.Hidden != "") != hidden {
				t.Fatalf("Hidden %v, the hidden field %q", hidden, s.Hidden)
			}
			for _, in := range append(s.S, *s.P) {
				if in.N == 0 || in.U == 0 || in.F == 0 {
					t.Fatalf("full fill left a field zero: %+v", in)
				}
			}
		}
	}
	zeros := 0
	for range 200 {
		var s sample
		(&Filler{Rand: rng, T: t}).Fill(reflect.ValueOf(&s).Elem())
		if s.A == "" || s.P == nil || s.S == nil {
			zeros++
		}
	}
	if zeros == 0 {
		t.Fatal("a random fill never left a field zero")
	}
}

func TestStrings(t *testing.T) {
	p := Pieces("extra")
	if i := slices.Index(p, "extra"); i != slices.Index(p, "0")+1 || p[i+1] != "\x00" {
		t.Fatalf("the extra pieces are not between the specials and the controls: %q", p)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	s := &Strings{Pieces: []string{"ab"}, LongMin: 100, LongSpan: 10}
	empty, long := 0, 0
	for range 5000 {
		x := s.String(rng)
		switch {
		case x == "":
			empty++
		case len(x) >= 100:
			long++
			if len(x) > 110 {
				t.Fatalf("a long string of %d bytes", len(x))
			}
		}
	}
	if empty == 0 || long == 0 {
		t.Fatalf("%d empty, %d long strings of 5000", empty, long)
	}
}

func TestDiff(t *testing.T) {
	d := Diff([]byte("abcX"), []byte("abcY"))
	if !strings.HasPrefix(d, "at byte 3 of 4/4:") || !strings.Contains(d, `"abcX"`) || !strings.Contains(d, `"abcY"`) {
		t.Fatalf("Diff: %s", d)
	}
}
