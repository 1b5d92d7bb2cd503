//go:build unix

package reassembly

import "syscall"

// processCPUSeconds returns the CPU time (user + system) this process has
// used. Benchmarks report throughput per CPU second as well as per wall
// second, because on a shared, busy machine the wall clock measures the
// neighbours as much as the code.
func processCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}
