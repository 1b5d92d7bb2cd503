package jsonw

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/connscope/connscope/internal/jsontest"
)

// TestAppendString holds AppendString to json.Marshal on every string of
// up to two pieces drawn from the hostile ones, every byte alone and
// between others, every rune of the BMP and a sample of the others.
func TestAppendString(t *testing.T) {
	str := func(s string) {
		t.Helper()
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); !bytes.Equal(got, want) {
			t.Fatalf("string %q: got %s, want %s", s, got, want)
		}
	}
	for _, a := range jsontest.Hostile.Pieces {
		for _, b := range jsontest.Hostile.Pieces {
			str(a + b)
		}
	}
	for c := range 256 {
		str(string([]byte{byte(c)}))
		str("a" + string([]byte{byte(c)}) + "b")
	}
	for r := rune(0); r < 0x10000; r++ {
		str(string(r))
	}
	for r := rune(0x10000); r <= utf8.MaxRune; r += 997 {
		str(string(r))
	}
}

// TestAppendStringAppends: AppendString keeps what b holds.
func TestAppendStringAppends(t *testing.T) {
	if got := string(AppendString([]byte("x:"), "a<b")); got != `x:"a\u003cb"` {
		t.Fatalf("got %s", got)
	}
}

// layout is a value with every shape the helpers write: members, nested
// objects, arrays of numbers and of objects, empty and nil ones.
type layout struct {
	ID    int      `json:"id"`
	Name  string   `json:"name"`
	Inner inner    `json:"inner"`
	Ns    []int    `json:"ns"`
	Objs  []inner  `json:"objs"`
	Empty []int    `json:"empty"`
	Nil   []string `json:"nil"`
	Strs  []string `json:"strs"`
	None  struct{} `json:"none"`
}

type inner struct {
	A bool `json:"a"`
	B int  `json:"b"`
}

func appendInner(b []byte, n int, v inner) []byte {
	b = append(b, '{')
	b = Member(b, n+2, `"a": `)
	b = strconv.AppendBool(b, v.A)
	b = Member(b, n+2, `"b": `)
	b = strconv.AppendInt(b, int64(v.B), 10)
	return Close(b, n, '}')
}

// appendInts and appendStrings write a slice member's value with
// OpenArray, Element and Close.
func appendInts(b []byte, n int, xs []int) []byte {
	b, done := OpenArray(b, xs == nil, len(xs))
	if done {
		return b
	}
	for i, x := range xs {
		b = Element(b, n, i == 0)
		b = strconv.AppendInt(b, int64(x), 10)
	}
	return Close(b, n, ']')
}

func appendStrings(b []byte, n int, xs []string) []byte {
	b, done := OpenArray(b, xs == nil, len(xs))
	if done {
		return b
	}
	for i, x := range xs {
		b = Element(b, n, i == 0)
		b = AppendString(b, x)
	}
	return Close(b, n, ']')
}

func appendLayout(b []byte, n int, v *layout) []byte {
	m := n + 2
	b = append(b, '{')
	b = Member(b, m, `"id": `)
	b = strconv.AppendInt(b, int64(v.ID), 10)
	b = Member(b, m, `"name": `)
	b = AppendString(b, v.Name)
	b = Member(b, m, `"inner": `)
	b = appendInner(b, m, v.Inner)
	b = Member(b, m, `"ns": `)
	b = appendInts(b, m, v.Ns)
	b = Member(b, m, `"objs": `)
	b = append(b, '[')
	for i, x := range v.Objs {
		b = Element(b, m, i == 0)
		b = appendInner(b, m+2, x)
	}
	b = Close(b, m, ']')
	b = Member(b, m, `"empty": `)
	b = appendInts(b, m, v.Empty)
	b = Member(b, m, `"nil": `)
	b = appendStrings(b, m, v.Nil)
	b = Member(b, m, `"strs": `)
	b = appendStrings(b, m, v.Strs)
	b = append(Member(b, m, `"none": `), "{}"...)
	return Close(b, n, '}')
}

// TestLayout holds Member, Element, OpenArray and Close to json.Marshal, and to
// json.Indent with a prefix of n spaces, at the depths the encoders write
// at and deeper.
func TestLayout(t *testing.T) {
	v := &layout{
		ID: -3, Name: "<n>\u2028", Inner: inner{A: true, B: 7},
		Ns: []int{1, -2, 3}, Objs: []inner{{}, {A: true, B: 1}},
		Empty: []int{}, Strs: []string{"x", "\xff"},
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendLayout([]byte("x"), Compact, v); !bytes.Equal(got[1:], raw) {
		t.Errorf("compact:\ngot  %s\nwant %s", got[1:], raw)
	}
	for _, n := range []int{0, 2, 4, 6, 20} {
		var want bytes.Buffer
		if err := json.Indent(&want, raw, strings.Repeat(" ", n), "  "); err != nil {
			t.Fatal(err)
		}
		if got := appendLayout([]byte("x"), n, v); !bytes.Equal(got[1:], want.Bytes()) {
			t.Errorf("indent %d:\ngot  %s\nwant %s", n, got[1:], want.Bytes())
		}
	}
}

// TestCompactStaysNegative: Compact stays negative however deep an
// encoder nests, 2 more spaces at each level.
func TestCompactStaysNegative(t *testing.T) {
	if n := Compact + 2*1000000; n >= 0 {
		t.Fatalf("Compact after a million levels is %d", n)
	}
}
