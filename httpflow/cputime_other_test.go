//go:build !unix

package httpflow

func processCPU() int64 { return 0 }
