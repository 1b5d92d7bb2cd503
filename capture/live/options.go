package live

import (
	"errors"
	"time"

	"github.com/connscope/connscope/capture/bpf"
)

// Options configure a live capture. The zero value captures everything on
// the interface, whole frames, in promiscuous mode, until stopped.
type Options struct {
	// Filter is a tcpdump-syntax filter expression ("tcp port 80"); empty
	// keeps every frame. It is compiled with bpf.Compile for the
	// interface's link type.
	Filter string
	// Program is an already compiled filter (`tcpdump -ddd` output read
	// with bpf.ParseDDD, for --bpf-file). It takes precedence over Filter.
	Program []bpf.RawInstruction
	// Snaplen is how many bytes of each frame to keep; 0 means
	// bpf.DefaultSnaplen (262144), in practice the whole frame.
	Snaplen int
	// NoPromiscuous leaves the interface out of promiscuous mode
	// (tcpdump -p): only frames addressed to this host are seen.
	NoPromiscuous bool
	// BufferSize is the size of the kernel ring in bytes; 0 means
	// DefaultBufferSize. A larger ring absorbs longer bursts before the
	// kernel drops frames.
	BufferSize int
	// BlockTimeout is how long the kernel waits before handing over a
	// partly filled ring block; it bounds the delivery latency at low
	// packet rates. 0 means DefaultBlockTimeout.
	BlockTimeout time.Duration
	// Count stops the capture after this many packets (0: no limit).
	Count uint64
	// Duration stops the capture after this much wall-clock time (0: no
	// limit). This is the only use of the wall clock: packet times always
	// come from the kernel's capture timestamps.
	Duration time.Duration
}

// AnyInterface is the pseudo-interface that captures on every interface at
// once, as `tcpdump -i any` does. Frames then have no common link-layer
// header, so they come in Linux cooked form (LINKTYPE_LINUX_SLL2), which
// names the interface each frame passed through. On a cooked capture the
// filter runs in user space only, and there is no promiscuous mode.
const AnyInterface = "any"

// Defaults for Options.
const (
	DefaultBufferSize   = 32 << 20
	DefaultBlockTimeout = 10 * time.Millisecond
	// blockSize is the size of one ring block. It must hold the largest
	// frame the interface can deliver, which with GSO/GRO can be a 64 KiB
	// "super-packet" (as on veth and loopback). Blocks are not larger
	// because at low packet rates the kernel hands a block over every
	// BlockTimeout however empty it is: the ring then holds
	// blocks×BlockTimeout of traffic (128×10 ms by default) before a stalled
	// reader loses frames, so more, smaller blocks absorb longer stalls.
	blockSize = 256 << 10
	// frameSize is TPACKET_V3's nominal frame size: V3 packs frames of any
	// length into a block, so it only has to divide the block size.
	frameSize = 2048
)

// QuietTick is how long NextOrTick waits for a frame before it returns a
// tick instead: with it a connection that closed on a quiet interface is
// reported well within a second of its linger (250 ms after a complete
// FIN/FIN teardown), not when the next, unrelated, frame arrives.
const QuietTick = 250 * time.Millisecond

// clockSlack is the part of a tick's margin behind the wall clock that is
// not the ring's own delay: a frame is stamped in the kernel's receive or
// transmit path a little before it is written to the ring, and a loaded
// machine can hold it there a while. A tick too early costs only a later
// report; one too late could release a connection whose last frames are
// still on their way.
const clockSlack = 250 * time.Millisecond

// Errors a live capture reports; test them with errors.Is.
var (
	// ErrPermission: the process may not open packet sockets.
	ErrPermission = errors.New("live capture needs the CAP_NET_RAW capability: run as root, or grant it once with `sudo setcap cap_net_raw,cap_net_admin=eip $(which connscope)`")
	// ErrNoSuchInterface: the named interface does not exist; the error
	// text lists the ones that do.
	ErrNoSuchInterface = errors.New("no such network interface")
	// ErrInterfaceDown: the interface exists but is administratively down.
	ErrInterfaceDown = errors.New("interface is down")
	// ErrUnsupported: live capture is not available for this interface or
	// system in this build.
	ErrUnsupported = errors.New("live capture not supported")
)
