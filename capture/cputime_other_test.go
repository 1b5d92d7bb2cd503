//go:build !unix

package capture_test

import "time"

// processCPUTime is unknown here; the CPU-time metric is left out.
func processCPUTime() time.Duration { return 0 }
