//go:build !unix

package reassembly

func processCPUSeconds() float64 { return 0 }
