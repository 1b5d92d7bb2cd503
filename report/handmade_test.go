package report

import (
	"bytes"
	"fmt"
	"testing"
)

// renderers lists every text format with how to render the fixture, for
// golden and determinism tests.
func renderers() []struct {
	name   string
	render func(*bytes.Buffer) error
} {
	r := fixtureReport()
	type rd = struct {
		name   string
		render func(*bytes.Buffer) error
	}
	out := []rd{
		{"handmade.ndjson", func(b *bytes.Buffer) error { return WriteNDJSON(b, r) }},
		{"handmade.har", func(b *bytes.Buffer) error { return WriteHAR(b, r, HAROptions{CreatorVersion: "test", Indent: true}) }},
		{"handmade.junit.xml", func(b *bytes.Buffer) error { return WriteJUnitWith(b, r, JUnitOptions{Rules: fixtureRules()}) }},
		{"handmade.junit-warning.xml", func(b *bytes.Buffer) error {
			return WriteJUnitWith(b, r, JUnitOptions{Rules: fixtureRules(), MinSeverity: "warning"})
		}},
	}
	for _, id := range []int{1, 2, 3} {
		id := id
		out = append(out, rd{fmt.Sprintf("handmade.timeline-%d.txt", id), func(b *bytes.Buffer) error { return WriteTimeline(b, r, id, nil) }})
	}
	return out
}

func TestGoldenHandmade(t *testing.T) {
	for _, rd := range renderers() {
		t.Run(rd.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := rd.render(&b); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, rd.name, b.Bytes())
		})
	}
}

// TestDeterministic renders every format twice from separately built
// reports and wants the same bytes.
func TestDeterministic(t *testing.T) {
	first, second := renderers(), renderers()
	for i := range first {
		var a, b bytes.Buffer
		if err := first[i].render(&a); err != nil {
			t.Fatal(err)
		}
		if err := second[i].render(&b); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.Bytes(), b.Bytes()) {
			t.Errorf("%s: two renderings differ\n%s", first[i].name, firstDiff(a.Bytes(), b.Bytes()))
		}
	}
	var a, b bytes.Buffer
	if err := WriteHTML(&a, fixtureReport(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&b, fixtureReport(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("html: two renderings differ\n%s", firstDiff(a.Bytes(), b.Bytes()))
	}
}

func TestNilReport(t *testing.T) {
	var b bytes.Buffer
	for name, err := range map[string]error{
		"ndjson":   WriteNDJSON(&b, nil),
		"har":      WriteHAR(&b, nil, HAROptions{}),
		"junit":    WriteJUnit(&b, nil),
		"timeline": WriteTimeline(&b, nil, 1, nil),
		"html":     WriteHTML(&b, nil, HTMLOptions{}),
	} {
		if err == nil {
			t.Errorf("%s: nil report gave no error", name)
		}
	}
}
