package hostile

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/connscope/connscope/analysis"
	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/httpflow"
	"github.com/connscope/connscope/reassembly"
	"github.com/connscope/connscope/report"
)

// FuzzPipeline feeds arbitrary bytes through the whole pipeline, as
// connscope analyze does, with tight limits so every cap is reached, and
// renders the report in every format. The package fuzz targets test each
// stage alone; this one tests what they do to each other (a parser state a
// reassembly gap leaves behind, a finding about a half-parsed message, a
// renderer fed by both). Seeds: small versions of every adversarial
// capture and the corrupt-input corpus in testdata/bad.
func FuzzPipeline(f *testing.F) {
	for _, s := range Scenarios() {
		var buf bytes.Buffer
		if err := s.Write(&buf, 3); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	bad, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "bad", "*"))
	for _, name := range bad {
		if b, err := os.ReadFile(name); err == nil && len(b) < 1<<16 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := capture.NewReader(bytes.NewReader(data), "fuzz.pcap")
		if err != nil {
			return // not a capture: the readers' own fuzz targets cover this
		}
		defer r.Close()
		a := analysis.New(analysis.Options{
			Reassembly:            reassembly.Config{MaxConnections: 4, MaxSegmentsPerConn: 16, MaxBufferedBytes: 4096},
			HTTP:                  httpflow.Config{MaxHeaderBytes: 256, MaxHeaders: 8, MaxTransactionsPerConn: 4},
			MaxListedConnections:  8,
			MaxListedTransactions: 8,
			KeepSegments:          true,
			KeepHeaders:           true,
		})
		_ = a.AddSource("fuzz.pcap", r.Format(), r) // damage is reported, not fatal
		rep := a.Report()
		if err := renderAll(rep); err != nil {
			t.Fatal(err)
		}
	})
}

// renderAll renders rep in every format and checks that each result
// parses as what it claims to be.
func renderAll(rep *analysis.Report) error {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(rep); err != nil {
		return err
	}
	if !json.Valid(b.Bytes()) {
		return errors.New("JSON report does not parse")
	}
	b.Reset()
	if err := report.WriteNDJSON(&b, rep); err != nil {
		return err
	}
	for _, line := range bytes.Split(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("\n")) {
		if len(line) > 0 && !json.Valid(line) {
			return errors.New("NDJSON line does not parse")
		}
	}
	b.Reset()
	if err := report.WriteHAR(&b, rep, report.HAROptions{}); err != nil {
		return err
	}
	if !json.Valid(b.Bytes()) {
		return errors.New("HAR does not parse")
	}
	b.Reset()
	if err := report.WriteJUnit(&b, rep); err != nil {
		return err
	}
	dec := xml.NewDecoder(&b)
	for {
		if _, err := dec.Token(); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return err
		}
	}
	if err := report.WriteHTML(io.Discard, rep, report.HTMLOptions{}); err != nil {
		return err
	}
	for _, c := range rep.Connections {
		var tl bytes.Buffer
		if err := report.WriteTimeline(&tl, rep, c.ID, nil); err != nil {
			return err
		}
		if bytes.ContainsAny(tl.Bytes(), "\x1b\x00") {
			return errors.New("control bytes in the timeline")
		}
	}
	return nil
}
