package diagnose

import "testing"

// BenchmarkEngineConnection measures the rules alone: one op runs every
// connection-scope rule over a keep-alive connection of 50 transactions
// (about 200 segments) and keeps its summary.
func BenchmarkEngineConnection(b *testing.B) {
	f := newConn(1, 0.1)
	ms := 2.0
	for i := 0; i < 50; i++ {
		f.exchange(ms, 150, 1, 1400)
		f.ack(ms+1.1, c2s)
		ms += 3
	}
	f.finish(ms, c2s)
	ci := f.info()
	e, err := NewEngine(Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		e.Connection(ci)
	}
	b.StopTimer()
	e.Finish()
}
