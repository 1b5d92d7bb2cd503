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
	cpu0 := ProcessCPU()
	for b.Loop() {
		e.Connection(ci)
	}
	b.ReportMetric(float64(ProcessCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	b.StopTimer()
	e.Finish()
}

// BenchmarkEngineChurn measures the capture-scope rules on a client that
// opens 5000 one-transaction connections to one server, 1 ms apart: one op
// feeds all of them and calls Finish. Its ns/op should grow linearly with
// the count (compare -benchtime runs after changing churnConns).
func BenchmarkEngineChurn(b *testing.B) {
	const churnConns = 5000
	cf := &captureFx{}
	infos := make([]*ConnInfo, churnConns)
	for i := range infos {
		infos[i] = oneShot(cf, i+1, float64(i), false).info()
	}
	b.ReportAllocs()
	cpu0 := ProcessCPU()
	for b.Loop() {
		e, err := NewEngine(Config{})
		if err != nil {
			b.Fatal(err)
		}
		for _, ci := range infos {
			e.Connection(ci)
		}
		if fs := e.Finish(); len(fs) == 0 {
			b.Fatal("no findings for a churning client")
		}
	}
	b.ReportMetric(float64(ProcessCPU()-cpu0)/float64(b.N*churnConns), "cpu-ns/conn")
}
