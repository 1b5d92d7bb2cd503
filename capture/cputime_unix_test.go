//go:build unix

package capture_test

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time this process has used. The
// benchmarks report packets per CPU second next to packets per (wall)
// second, because on a shared, loaded machine wall time mostly measures the
// neighbours.
func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
