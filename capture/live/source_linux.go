//go:build linux && !libpcap

package live

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/connscope/connscope/capture"
	"github.com/connscope/connscope/capture/bpf"
)

// pureGo reports which implementation this build uses.
const pureGo = true

// Source reads frames live from one network interface through an AF_PACKET
// socket with a TPACKET_V3 ring. It has the shape of capture.Reader: Next
// until io.EOF, then Close.
//
// Next must be called from one goroutine at a time; Stop and Stats may be
// called from any goroutine (a signal handler, a timer).
type Source struct {
	iface    string
	linkType capture.LinkType
	hatype   uint16
	fd       int
	wake     int // eventfd that Stop writes to interrupt poll
	ring     *ring
	prog     []bpf.RawInstruction
	snaplen  int
	opts     Options
	// kernelFilter reports whether prog is attached to the socket too.
	kernelFilter bool
	// cooked: capturing on AnyInterface; frames get an SLL2 header.
	cooked  bool
	loIndex int // index of the loopback interface, for cooked mode; -1 if none

	mu      sync.Mutex // held by Next and Close; owns everything below
	closed  bool
	frame   uint64
	pkt     capture.Packet
	vlanBuf []byte
	cookBuf []byte
	// drainLeft counts the ring blocks still to deliver after Stop; -1
	// while capturing.
	drainLeft int

	stopped  atomic.Bool
	filtered atomic.Uint64 // frames the user-space check rejected
	timer    *time.Timer
	wakeMu   sync.Mutex // guards wake against Stop racing with Close

	statsMu sync.Mutex // guards the accumulated kernel counters
	packets uint64
	drops   uint64
}

// Open starts capturing on iface (or on every interface, AnyInterface).
// The capture runs from this moment: frames queue in the kernel ring until
// Next reads them.
func Open(iface string, opts Options) (*Source, error) {
	ifi := &net.Interface{Name: AnyInterface} // index 0: every interface
	cooked := iface == AnyInterface
	if !cooked {
		var err error
		ifi, err = net.InterfaceByName(iface)
		if err != nil {
			return nil, noSuchInterface(iface, err)
		}
		if ifi.Flags&net.FlagUp == 0 {
			// As tcpdump does: a capture on a down interface would sit
			// silent, and look like an idle service.
			return nil, fmt.Errorf("live: interface %s: %w (bring it up with `ip link set %s up`)", iface, ErrInterfaceDown, iface)
		}
	}
	snaplen := opts.Snaplen
	if snaplen <= 0 {
		snaplen = bpf.DefaultSnaplen
	}
	if opts.BufferSize <= 0 {
		opts.BufferSize = DefaultBufferSize
	}
	if opts.BlockTimeout <= 0 {
		opts.BlockTimeout = DefaultBlockTimeout
	}

	// The socket starts with protocol 0: it receives nothing until the
	// ring and the filter are in place and the final bind below. A cooked
	// (SOCK_DGRAM) socket gets frames without their link-layer header and
	// the kernel's description of it in a sockaddr_ll instead.
	sockType := unix.SOCK_RAW
	if cooked {
		sockType = unix.SOCK_DGRAM
	}
	fd, err := unix.Socket(unix.AF_PACKET, sockType|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, openError(iface, "opening a packet socket", err)
	}
	s := &Source{iface: iface, fd: fd, wake: -1, snaplen: snaplen, opts: opts, drainLeft: -1, cooked: cooked, loIndex: -1}
	if err := s.setUp(ifi); err != nil {
		s.closeFDs()
		return nil, err
	}
	if opts.Duration > 0 {
		s.timer = time.AfterFunc(opts.Duration, s.Stop)
	}
	return s, nil
}

func (s *Source) setUp(ifi *net.Interface) error {
	// Bind with protocol 0 to learn the device type without receiving.
	if err := unix.Bind(s.fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index}); err != nil {
		return openError(s.iface, "binding to the interface", err)
	}
	sa, err := unix.Getsockname(s.fd)
	if err != nil {
		return openError(s.iface, "reading the interface type", err)
	}
	ll, ok := sa.(*unix.SockaddrLinklayer)
	if !ok {
		return openError(s.iface, "reading the interface type", errors.New("not a link-layer address"))
	}
	s.hatype = ll.Hatype
	if s.cooked {
		s.linkType = capture.LinkTypeLinuxSLL2
		if lo, err := net.InterfaceByName("lo"); err == nil {
			s.loIndex = lo.Index
		}
	} else if s.linkType, err = linkTypeFor(ll.Hatype); err != nil {
		return fmt.Errorf("live: interface %s: %w", s.iface, err)
	}

	if err := s.compileFilter(); err != nil {
		return err
	}
	if err := unix.SetsockoptInt(s.fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return openError(s.iface, "selecting TPACKET_V3", err)
	}
	s.ring, err = newRing(s.fd, s.opts.BufferSize, uint32(s.opts.BlockTimeout/time.Millisecond))
	if err != nil {
		return openError(s.iface, "", err)
	}
	if err := s.attachFilter(); err != nil {
		return err
	}
	if !s.opts.NoPromiscuous && !s.cooked { // "any" has no promiscuous mode, as in libpcap
		mreq := unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(s.fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return openError(s.iface, "entering promiscuous mode", err)
		}
	}
	s.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return openError(s.iface, "creating the stop event", err)
	}
	// From here on frames flow into the ring.
	if err := unix.Bind(s.fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return openError(s.iface, "binding to the interface", err)
	}
	return nil
}

func (s *Source) compileFilter() error {
	prog := s.opts.Program
	if prog == nil {
		var err error
		prog, err = bpf.Compile(s.opts.Filter, s.linkType, s.snaplen)
		if err != nil {
			return fmt.Errorf("live: interface %s: %w", s.iface, err)
		}
	} else if err := bpf.Validate(prog); err != nil {
		return fmt.Errorf("live: interface %s: filter program: %w", s.iface, err)
	}
	s.prog = prog
	return nil
}

// attachFilter puts the program in the kernel, so rejected frames never
// reach the ring. When the expression tests VLAN tags it attaches only a
// snap-length program instead: network drivers strip the tag before the
// kernel filter runs (it comes back as ring metadata, and Next puts it back
// in the frame), so such a filter would reject every tagged frame in the
// kernel. The user-space check in Next still applies the whole filter.
func (s *Source) attachFilter() error {
	kernelProg := s.prog
	s.kernelFilter = true
	// On a cooked socket the kernel runs the filter on the frame from its
	// network header, not on the SLL2 header the program expects.
	if s.cooked || s.opts.Program == nil && mentionsVLAN(s.opts.Filter) {
		kernelProg = []bpf.RawInstruction{{Op: 0x06, K: uint32(s.snaplen)}} // ret #snaplen
		s.kernelFilter = false
	}
	filter := make([]unix.SockFilter, len(kernelProg))
	for i, ins := range kernelProg {
		filter[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	fprog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	if err := unix.SetsockoptSockFprog(s.fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &fprog); err != nil {
		// The user-space check still filters; the kernel just copies more.
		s.kernelFilter = false
	}
	return nil
}

func mentionsVLAN(expr string) bool {
	for _, w := range strings.FieldsFunc(strings.ToLower(expr), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		if w == "vlan" || w == "mpls" || w == "pppoes" || w == "geneve" {
			return true
		}
	}
	return false
}

// Next returns the next captured frame that passes the filter. The
// packet and its Data stay valid until the following call to Next. After
// Stop, or once Options.Count or Options.Duration is reached, Next returns
// io.EOF.
func (s *Source) Next() (*capture.Packet, error) {
	p, _, err := s.next(false)
	return p, err
}

// NextOrTick is Next for a reader that also wants to know how far the
// capture clock has gone while no packet comes (analysis.TickingSource):
// when the ring has held no frame for QuietTick it returns a nil packet
// and a tick, a capture time that no frame still to come is stamped
// before. The tick is CLOCK_REALTIME, the clock the kernel stamps frames
// with, less a margin of twice Options.BlockTimeout (a frame waits in the
// block the kernel is filling for up to two of its timer periods before
// the reader can see it) and clockSlack. It never returns a tick while the
// kernel has handed over frames not yet read, nor after Stop.
func (s *Source) NextOrTick() (*capture.Packet, int64, error) {
	return s.next(true)
}

// tick is the capture time that no frame still to come is stamped before,
// when the ring has been read to its end.
func (s *Source) tick() int64 {
	var now unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_REALTIME, &now); err != nil {
		return 0 // no tick: the pipeline ignores a time this early
	}
	return now.Nano() - int64(2*s.opts.BlockTimeout+clockSlack)
}

// next is Next, and NextOrTick when ticks is set.
func (s *Source) next(ticks bool) (*capture.Packet, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, 0, fmt.Errorf("live: interface %s: %w", s.iface, os.ErrClosed)
	}
	var quietUntil time.Time // when NextOrTick gives a tick rather than wait on
	if ticks {
		quietUntil = time.Now().Add(QuietTick)
	}
	for {
		if s.opts.Count > 0 && s.frame >= s.opts.Count {
			return nil, 0, io.EOF
		}
		if s.stopped.Load() && s.drainLeft < 0 {
			// Deliver what the kernel already handed over, at most one
			// lap of the ring so a busy link cannot keep us here.
			s.drainLeft = s.ring.blocks
		}
		raw, ok := s.ring.nextPacket()
		if !ok {
			s.ring.release()
			if s.drainLeft == 0 {
				return nil, 0, io.EOF
			}
			if s.ring.acquire() {
				if s.drainLeft > 0 {
					s.drainLeft--
				}
				continue
			}
			if s.drainLeft > 0 {
				return nil, 0, io.EOF
			}
			// Every frame the kernel handed over has been read.
			timeout := -1 // wait for a block or Stop
			if ticks {
				left := time.Until(quietUntil)
				if left <= 0 {
					return nil, s.tick(), nil
				}
				timeout = int((left + time.Millisecond - 1) / time.Millisecond)
			}
			if err := s.wait(timeout); err != nil {
				return nil, 0, err
			}
			continue
		}
		if raw.pkttype == unix.PACKET_OUTGOING &&
			(s.hatype == unix.ARPHRD_LOOPBACK || s.cooked && int(raw.ifindex) == s.loIndex) {
			// On loopback every frame is seen leaving and arriving;
			// keep one copy, as libpcap does.
			continue
		}
		data := raw.data
		wire := int(raw.wireLen)
		switch {
		case s.cooked:
			data = s.cook(raw)
			wire += sll2HeaderLen
		case s.linkType == capture.LinkTypeEthernet && raw.status&unix.TP_STATUS_VLAN_VALID != 0:
			data = s.insertVLAN(raw)
			wire += 4
		}
		if len(data) > s.snaplen {
			data = data[:s.snaplen]
		}
		if !bpf.Run(s.prog, data) {
			s.filtered.Add(1)
			continue
		}
		s.frame++
		s.pkt = capture.Packet{
			Frame:          s.frame,
			Time:           int64(raw.sec)*1e9 + int64(raw.nsec),
			CaptureLength:  len(data),
			OriginalLength: max(wire, len(data)),
			LinkType:       s.linkType,
			Data:           data,
		}
		return &s.pkt, 0, nil
	}
}

// wait blocks until the kernel hands over a block or Stop is called, or
// for timeoutMs milliseconds (-1: no limit).
func (s *Source) wait(timeoutMs int) error {
	fds := []unix.PollFd{
		{Fd: int32(s.fd), Events: unix.POLLIN | unix.POLLERR},
		{Fd: int32(s.wake), Events: unix.POLLIN},
	}
	for {
		_, err := unix.Poll(fds, timeoutMs)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("live: interface %s: waiting for packets: %w", s.iface, err)
		}
		if fds[0].Revents&unix.POLLERR != 0 {
			// A pending socket error (e.g. the interface went away).
			errno, gerr := unix.GetsockoptInt(s.fd, unix.SOL_SOCKET, unix.SO_ERROR)
			if gerr == nil && errno != 0 {
				return fmt.Errorf("live: interface %s: %w", s.iface, unix.Errno(errno))
			}
		}
		return nil
	}
}

// Stop ends the capture: a Next blocked waiting for packets returns io.EOF
// promptly. Frames the kernel had already handed over to the ring are
// still delivered first (at most one lap of the ring); frames in the block
// the kernel was still filling are not. Stop is safe to call from any goroutine, more
// than once, and after Close.
func (s *Source) Stop() {
	s.stopped.Store(true)
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if s.wake >= 0 {
		_, _ = unix.Write(s.wake, one[:])
	}
}

// Stats returns the kernel's counters since Open: packets the socket
// received (after the kernel filter, including dropped ones) and drops,
// frames the kernel discarded because the ring was full. Drops mean the
// analysis is missing packets.
func (s *Source) Stats() (packets, drops uint64) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.fd >= 0 {
		// PACKET_STATISTICS resets the counters on every read.
		if st, err := unix.GetsockoptTpacketStatsV3(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
			s.packets += uint64(st.Packets)
			s.drops += uint64(st.Drops)
		}
	}
	return s.packets, s.drops
}

// Filtered returns how many frames the user-space filter check rejected
// (frames the kernel filter let through or could not judge).
func (s *Source) Filtered() uint64 { return s.filtered.Load() }

// LinkType is the link-layer header type of the frames Next returns.
func (s *Source) LinkType() capture.LinkType { return s.linkType }

// Interface is the name of the interface being captured.
func (s *Source) Interface() string { return s.iface }

// Snaplen is the most bytes of a frame that Next returns.
func (s *Source) Snaplen() int { return s.snaplen }

// KernelFilter reports whether the filter runs in the kernel as well as in
// user space.
func (s *Source) KernelFilter() bool { return s.kernelFilter }

// Close stops the capture and releases the socket and the ring. Packets
// returned by Next must not be used after Close.
func (s *Source) Close() error {
	s.Stop()
	s.Stats() // keep the final counters readable after Close
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
	return s.closeFDs()
}

func (s *Source) closeFDs() error {
	var err error
	if s.ring != nil {
		err = s.ring.close()
	}
	s.statsMu.Lock()
	if s.fd >= 0 {
		if cerr := unix.Close(s.fd); err == nil {
			err = cerr
		}
		s.fd = -1
	}
	s.statsMu.Unlock()
	s.wakeMu.Lock()
	if s.wake >= 0 {
		unix.Close(s.wake)
		s.wake = -1
	}
	s.wakeMu.Unlock()
	return err
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return *(*uint16)(unsafe.Pointer(&b[0]))
}
