//go:build !linux && !libpcap

package live

import (
	"fmt"
	"io"

	"github.com/connscope/connscope/capture"
)

// pureGo reports which implementation this build uses.
const pureGo = true

// Source is unavailable in this build: the pure-Go capture uses Linux's
// AF_PACKET. Build with -tags libpcap (and cgo) on other systems.
type Source struct{}

// Open always fails with ErrUnsupported in this build.
func Open(iface string, opts Options) (*Source, error) {
	return nil, fmt.Errorf("live: interface %s: %w on this system without libpcap (build with -tags libpcap)", iface, ErrUnsupported)
}

// Next returns io.EOF.
func (s *Source) Next() (*capture.Packet, error) { return nil, io.EOF }

// NextOrTick returns io.EOF.
func (s *Source) NextOrTick() (*capture.Packet, int64, error) { return nil, 0, io.EOF }

// Stop does nothing.
func (s *Source) Stop() {}

// Stats returns zeros.
func (s *Source) Stats() (packets, drops uint64) { return 0, 0 }

// Filtered returns 0.
func (s *Source) Filtered() uint64 { return 0 }

// LinkType returns 0.
func (s *Source) LinkType() capture.LinkType { return 0 }

// Interface returns "".
func (s *Source) Interface() string { return "" }

// Snaplen returns 0.
func (s *Source) Snaplen() int { return 0 }

// KernelFilter returns false.
func (s *Source) KernelFilter() bool { return false }

// Close does nothing.
func (s *Source) Close() error { return nil }
