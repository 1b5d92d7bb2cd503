package analysis

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"

	"github.com/connscope/connscope/internal/jsonw"
)

// WriteJSON writes r as indented JSON (two spaces, HTML-escaped, a final
// newline), byte for byte what json.Encoder with SetIndent("", "  ") writes
// for r, but one connection, transaction and finding at a time.
//
// The Encoder builds the whole document in memory before writing it, and
// indents it into a second copy: a report listing 100 000 connections and
// 100 000 transactions is about 200 MB of JSON, so the Encoder needs
// several hundred MB more than the report itself, and the garbage
// collector works hard near the CLI's soft memory limit. WriteJSON's extra
// memory is one element.
//
// The connections, transactions and findings, which make nearly all of a
// large report, are written by hand encoders (report_json_fast.go) that
// write what json.Marshal and json.Indent would, without reflection or a
// second pass; the rest goes through encoding/json.
func (r *Report) WriteJSON(w io.Writer) error { return r.writeJSON(w, false) }

// writeJSON is WriteJSON; with reflective, every value goes through
// encoding/json, as before the hand encoders: what the tests hold them to.
func (r *Report) writeJSON(w io.Writer, reflective bool) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	jw := &jsonWriter{w: bw, reflective: reflective}
	jw.raw("{\n")
	jw.field("schema", r.Schema, false)
	if r.Rules != nil {
		jw.field("rules", r.Rules, false)
	}
	writeArrayField(jw, "inputs", r.Inputs, false)
	if r.listing != nil {
		// As the Encoder writes the slices an in-memory report from
		// the analysis has: [] when nothing is listed.
		if err := writeEachField(jw, "connections", r.EachConnection); err != nil {
			return err
		}
		if err := writeEachField(jw, "transactions", r.EachTransaction); err != nil {
			return err
		}
	} else {
		writeArrayField(jw, "connections", r.Connections, false)
		writeArrayField(jw, "transactions", r.Transactions, false)
	}
	writeArrayField(jw, "findings", r.Findings, true)
	jw.raw("}\n")
	if jw.err != nil {
		return jw.err
	}
	return bw.Flush()
}

// jsonWriter writes indented JSON pieces, keeping the first error.
type jsonWriter struct {
	w    *bufio.Writer
	buf  bytes.Buffer // one indented value
	fast []byte       // one value from its hand encoder
	err  error
	// reflective writes every value with encoding/json (see writeJSON).
	reflective bool
}

func (jw *jsonWriter) raw(s string) {
	if jw.err == nil {
		_, jw.err = jw.w.WriteString(s)
	}
}

// value writes v indented as if nested depth levels deep: with its hand
// encoder when it has one (report_json_fast.go), else with encoding/json.
func (jw *jsonWriter) value(v any, depth int) {
	if jw.err != nil {
		return
	}
	if a, ok := v.(jsonAppender); ok && !jw.reflective {
		if b, ok := a.appendJSON(jw.fast[:0], 2*depth); ok {
			jw.fast = b
			_, jw.err = jw.w.Write(b)
			return
		}
	}
	jw.valueReflect(v, depth)
}

// valueReflect is value with encoding/json.
func (jw *jsonWriter) valueReflect(v any, depth int) {
	b, err := json.Marshal(v)
	if err != nil {
		jw.err = err
		return
	}
	jw.buf.Reset()
	prefix := "  "
	for range depth - 1 {
		prefix += "  "
	}
	if err := json.Indent(&jw.buf, b, prefix, "  "); err != nil {
		jw.err = err
		return
	}
	_, jw.err = jw.w.Write(jw.buf.Bytes())
}

// key writes a member name at depth 1.
func (jw *jsonWriter) key(name string) {
	if jw.reflective {
		jw.raw("  ")
		jw.value(name, 1)
		jw.raw(": ")
		return
	}
	if jw.err != nil {
		return
	}
	jw.fast = append(jsonw.AppendString(append(jw.fast[:0], "  "...), name), ':', ' ')
	_, jw.err = jw.w.Write(jw.fast)
}

// field writes one top-level member whole.
func (jw *jsonWriter) field(name string, v any, last bool) {
	jw.key(name)
	jw.value(v, 1)
	jw.end(last)
}

func (jw *jsonWriter) end(last bool) {
	if last {
		jw.raw("\n")
	} else {
		jw.raw(",\n")
	}
}

// writeEachField writes a top-level array member from an iterator, as
// writeArrayField writes a slice that has no nil entries: [] when the
// iterator yields nothing. It returns the iterator's own errors (reading
// the listing back); write errors stay in jw.
func writeEachField[T any](jw *jsonWriter, name string, each func(func(T) error) error) error {
	jw.key(name)
	n := 0
	err := each(func(x T) error {
		if n == 0 {
			jw.raw("[\n")
		} else {
			jw.raw(",\n")
		}
		n++
		jw.raw("    ")
		jw.value(x, 2)
		return jw.err
	})
	if err != nil && err != jw.err {
		return err
	}
	if n == 0 {
		jw.raw("[]")
	} else {
		jw.raw("\n  ]")
	}
	jw.end(false)
	return nil
}

// writeArrayField writes a top-level array member element by element, as
// the Encoder would: null for a nil slice, [] for an empty one.
func writeArrayField[T any](jw *jsonWriter, name string, xs []T, last bool) {
	jw.key(name)
	switch {
	case xs == nil:
		jw.raw("null")
	case len(xs) == 0:
		jw.raw("[]")
	default:
		jw.raw("[\n")
		for i, x := range xs {
			jw.raw("    ")
			jw.value(x, 2)
			if i < len(xs)-1 {
				jw.raw(",\n")
			} else {
				jw.raw("\n")
			}
		}
		jw.raw("  ]")
	}
	jw.end(last)
}
