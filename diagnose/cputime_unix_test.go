//go:build unix

package diagnose

import "syscall"

// ProcessCPU returns the CPU time (user + system) the process has used, in
// ns: on a busy machine it measures work where wall time measures waiting.
// It is exported for the benchmarks in package diagnose_test.
func ProcessCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
