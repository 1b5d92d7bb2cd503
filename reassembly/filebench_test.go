package reassembly

import (
	"os"
	"testing"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/capturetest"
)

// BenchmarkAssembleFile measures reassembly alone on a real capture named
// by CONNSCOPE_BENCH_PCAP (bench/record.sh makes them): the segments are
// decoded and copied into memory first, then only Add and Flush are timed.
// It skips when the variable is unset.
func BenchmarkAssembleFile(b *testing.B) {
	path := os.Getenv("CONNSCOPE_BENCH_PCAP")
	if path == "" {
		b.Skip("set CONNSCOPE_BENCH_PCAP to a capture")
	}
	r, err := capture.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var segs []capture.Segment
	_, err = capturetest.EachSegment(r, func(seg *capture.Segment) {
		s := *seg
		s.Payload = append([]byte(nil), seg.Payload...)
		segs = append(segs, s)
	})
	if err != nil {
		b.Log(err)
	}
	r.Close()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPUSeconds()
	for b.Loop() {
		a := NewAssembler(Config{}, &countingConsumer{})
		for i := range segs {
			a.Add(&segs[i])
		}
		a.Flush()
	}
	b.ReportMetric(float64(len(segs))*float64(b.N)/b.Elapsed().Seconds(), "segments/s")
	if cpu := processCPUSeconds() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(segs))*float64(b.N)/cpu, "segments/cpu-s")
	}
	b.ReportMetric(float64(len(segs)), "segments/op")
}
