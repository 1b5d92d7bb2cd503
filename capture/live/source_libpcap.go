//go:build libpcap

package live

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/bpf"
)

// pureGo reports which implementation this build uses.
const pureGo = false

// readTimeout bounds how long Next waits inside libpcap before checking
// whether Stop was called.
const readTimeout = 100 * time.Millisecond

// Source reads frames live through libpcap (built with -tags libpcap). It
// supports every device libpcap does, including Linux's `any`, and every
// filter libpcap compiles; libpcap applies the filter in the kernel when it
// can and in user space otherwise.
//
// Next must be called from one goroutine at a time; Stop and Stats may be
// called from any goroutine.
type Source struct {
	iface    string
	handle   *pcap.Handle
	linkType capture.LinkType
	snaplen  int
	opts     Options

	mu     sync.Mutex // held by Next and Close
	closed bool
	frame  uint64
	pkt    capture.Packet

	stopped atomic.Bool
	timer   *time.Timer

	statsMu        sync.Mutex
	packets, drops uint64
}

// Open starts capturing on iface.
func Open(iface string, opts Options) (*Source, error) {
	snaplen := opts.Snaplen
	if snaplen <= 0 {
		snaplen = bpf.DefaultSnaplen
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	in, err := pcap.NewInactiveHandle(iface)
	if err != nil {
		return nil, fmt.Errorf("live: interface %s: %w", iface, err)
	}
	defer in.CleanUp()
	for _, set := range []func() error{
		func() error { return in.SetSnapLen(snaplen) },
		func() error { return in.SetPromisc(!opts.NoPromiscuous) },
		func() error { return in.SetTimeout(readTimeout) },
		func() error { return in.SetBufferSize(opts.BufferSize) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("live: interface %s: %w", iface, err)
		}
	}
	h, err := in.Activate()
	if err != nil {
		return nil, activateError(iface, err)
	}
	if iface == AnyInterface {
		// Cooked v2 names the interface of each frame; libpcap still
		// defaults to v1 for `any`, tcpdump asks for v2 like this.
		_ = h.SetLinkType(layers.LinkType(capture.LinkTypeLinuxSLL2))
	}
	s := &Source{iface: iface, handle: h, linkType: capture.LinkType(h.LinkType()), snaplen: snaplen, opts: opts}
	if err := s.setFilter(); err != nil {
		h.Close()
		return nil, err
	}
	if opts.Duration > 0 {
		s.timer = time.AfterFunc(opts.Duration, s.Stop)
	}
	return s, nil
}

func (s *Source) setFilter() error {
	if s.opts.Program != nil {
		if err := bpf.Validate(s.opts.Program); err != nil {
			return fmt.Errorf("live: interface %s: filter program: %w", s.iface, err)
		}
		ins := make([]pcap.BPFInstruction, len(s.opts.Program))
		for i, in := range s.opts.Program {
			ins[i] = pcap.BPFInstruction{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
		}
		if err := s.handle.SetBPFInstructionFilter(ins); err != nil {
			return fmt.Errorf("live: interface %s: filter program: %w", s.iface, err)
		}
		return nil
	}
	if s.opts.Filter == "" {
		return nil
	}
	if err := s.handle.SetBPFFilter(s.opts.Filter); err != nil {
		return fmt.Errorf("live: interface %s: filter %q: %w", s.iface, s.opts.Filter, err)
	}
	return nil
}

func activateError(iface string, err error) error {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "Permission Denied") || strings.Contains(msg, "permission"):
		return fmt.Errorf("live: interface %s: %w: %w", iface, ErrPermission, err)
	case strings.Contains(msg, "Interface Not Up"):
		return fmt.Errorf("live: interface %s: %w (bring it up with `ip link set %s up`)", iface, ErrInterfaceDown, iface)
	case strings.Contains(msg, "No Such Device"):
		var names []string
		if devs, derr := pcap.FindAllDevs(); derr == nil {
			for _, d := range devs {
				names = append(names, d.Name)
			}
		}
		return fmt.Errorf("live: interface %q: %w; available: %s", iface, ErrNoSuchInterface, strings.Join(names, ", "))
	}
	return fmt.Errorf("live: interface %s: %w", iface, err)
}

// Next returns the next captured frame; Data is valid until the following
// call. After Stop, or once Options.Count or Options.Duration is reached,
// it returns io.EOF.
func (s *Source) Next() (*capture.Packet, error) {
	p, _, err := s.next(false)
	return p, err
}

// NextOrTick is Next for a reader that also wants to know how far the
// capture clock has gone while no packet comes (analysis.TickingSource):
// when libpcap has delivered no frame for QuietTick it returns a nil
// packet and a tick, a capture time that no frame still to come is stamped
// before: the system's real-time clock, which libpcap's host time stamps
// use, less twice readTimeout (libpcap holds frames in its buffer for up
// to its timeout before it delivers them) and clockSlack. A tick comes
// only when libpcap's read timed out with nothing to deliver.
func (s *Source) NextOrTick() (*capture.Packet, int64, error) {
	return s.next(true)
}

// next is Next, and NextOrTick when ticks is set.
func (s *Source) next(ticks bool) (*capture.Packet, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, fmt.Errorf("live: interface %s: %w", s.iface, os.ErrClosed)
	}
	quietUntil := time.Now().Add(QuietTick)
	for {
		if s.stopped.Load() || (s.opts.Count > 0 && s.frame >= s.opts.Count) {
			return nil, 0, io.EOF
		}
		data, ci, err := s.handle.ZeroCopyReadPacketData()
		if errors.Is(err, pcap.NextErrorTimeoutExpired) {
			if ticks && !time.Now().Before(quietUntil) {
				return nil, time.Now().UnixNano() - int64(2*readTimeout+clockSlack), nil
			}
			continue
		}
		if err == io.EOF {
			return nil, 0, io.EOF
		}
		if err != nil {
			return nil, 0, fmt.Errorf("live: interface %s: %w", s.iface, err)
		}
		s.frame++
		s.pkt = capture.Packet{
			Frame:          s.frame,
			Time:           ci.Timestamp.UnixNano(),
			CaptureLength:  len(data),
			OriginalLength: max(ci.Length, len(data)),
			LinkType:       s.linkType,
			Data:           data,
		}
		return &s.pkt, 0, nil
	}
}

// Stop ends the capture; a blocked Next returns io.EOF within readTimeout.
func (s *Source) Stop() { s.stopped.Store(true) }

// Stats returns libpcap's counters since Open: packets received and
// packets dropped because the buffer was full.
func (s *Source) Stats() (packets, drops uint64) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.handle != nil {
		if st, err := s.handle.Stats(); err == nil {
			s.packets, s.drops = uint64(st.PacketsReceived), uint64(st.PacketsDropped)
		}
	}
	return s.packets, s.drops
}

// Filtered is always 0: libpcap filters where it sees fit.
func (s *Source) Filtered() uint64 { return 0 }

// LinkType is the link-layer header type of the frames Next returns.
func (s *Source) LinkType() capture.LinkType { return s.linkType }

// Interface is the name of the interface being captured.
func (s *Source) Interface() string { return s.iface }

// Snaplen is the most bytes of a frame that Next returns.
func (s *Source) Snaplen() int { return s.snaplen }

// KernelFilter reports whether a filter is installed (libpcap decides
// whether it runs in the kernel).
func (s *Source) KernelFilter() bool { return s.opts.Filter != "" || s.opts.Program != nil }

// Close stops the capture and releases the handle.
func (s *Source) Close() error {
	s.Stop()
	s.Stats()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	s.statsMu.Lock()
	s.handle.Close()
	s.handle = nil
	s.statsMu.Unlock()
	return nil
}
