// Package reassembly rebuilds TCP connections from decoded segments.
package reassembly
