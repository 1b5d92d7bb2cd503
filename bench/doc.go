// Package bench holds connscope's whole-pipeline benchmarks: one Go
// benchmark per stage (read+decode, +reassembly, +httpflow, +diagnose, the
// full analysis with its report) over a real capture named by the
// environment variable CONNSCOPE_BENCH_PCAP. Without it they skip, so
// `go test ./...` stays fast. One more stage, httpflow-floor, is not part
// of the pipeline: it scans each header block for its end and the
// response's Content-Length and nothing more, what any HTTP/1.x parser
// has to find, so that what httpflow costs can be split into what reading
// HTTP costs at all and what being a parser costs.
//
// The figure that matters is packets per CPU second (user + system time of
// the process, from getrusage), not per wall second: the machine is shared,
// and wall time measures the neighbours as much as the code. Each stage
// reports both, plus the peak heap in use (from the Go runtime) so memory
// can be compared stage by stage.
//
// bench/record.sh records suitable captures of real loopback HTTP traffic
// (bench/loadgen makes it); bench/run.sh runs every stage on one core
// (GOMAXPROCS=1) under /usr/bin/time, which adds the process's peak RSS,
// and then the connscope binary itself with --format json.
//
// A stage is measured by running the test binary for that stage alone:
//
//	go test -c -o /tmp/bench.test ./bench
//	CONNSCOPE_BENCH_PCAP=/dev/shm/short.pcap GOMAXPROCS=1 \
//	  /usr/bin/time -f "%U %S %M" /tmp/bench.test \
//	  -test.run '^$' -test.bench 'Pipeline/reassembly$' -test.benchtime 1x
//
// Profiles come the same way, with -test.cpuprofile or -test.memprofile.
package bench
