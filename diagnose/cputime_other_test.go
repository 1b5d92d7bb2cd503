//go:build !unix

package diagnose

// ProcessCPU is not measured on this platform.
func ProcessCPU() int64 { return 0 }
