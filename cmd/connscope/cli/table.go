package cli

import (
	"io"
	"strings"
	"unicode/utf8"
)

// table aligns rows of cells into columns exactly as text/tabwriter does
// with minwidth 0, padding 2 and padchar ' ' (and no flags) for lines that
// all have the same number of cells: every cell but the last is padded
// with spaces to its column's widest cell (in runes) plus two; the last
// cell is written as it is. Unlike tabwriter, which holds every cell of
// the table until Flush, table learns the widths in a first pass
// (measure) and writes each row as it comes (write), so a table of every
// connection of a capture costs no memory. Cells must not contain tabs,
// newlines or tabwriter's escape byte 0xff (textsafe.Terminal output
// never does).
type table struct {
	widths []int
	line   strings.Builder
}

// measure widens the columns to fit cells.
func (t *table) measure(cells []string) {
	for i, c := range cells[:len(cells)-1] {
		if i == len(t.widths) {
			t.widths = append(t.widths, 0)
		}
		t.widths[i] = max(t.widths[i], utf8.RuneCountInString(c))
	}
}

// write writes one aligned line to w.
func (t *table) write(w io.Writer, cells []string) {
	t.line.Reset()
	for i, c := range cells {
		t.line.WriteString(c)
		if i < len(cells)-1 && i < len(t.widths) {
			for n := t.widths[i] + 2 - utf8.RuneCountInString(c); n > 0; n-- {
				t.line.WriteByte(' ')
			}
		}
	}
	t.line.WriteByte('\n')
	io.WriteString(w, t.line.String())
}
