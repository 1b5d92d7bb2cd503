//go:build unix

package httpflow

import "syscall"

// processCPU returns the CPU time (user and system, all threads) the
// process has used, in ns. On a shared machine it is a steadier measure
// than wall time.
func processCPU() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
