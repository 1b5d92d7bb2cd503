// Package live captures packets from a network interface as they pass, for
// `connscope analyze -i IFACE`. A Source has the shape of capture.Reader:
// Open, Next until io.EOF, Close; the analysis pipeline cannot tell a live
// capture from a file except that Stats reports kernel drops.
//
//	src, err := live.Open("eth0", live.Options{Filter: "tcp port 80"})
//	if err != nil {
//		return err // says how to fix missing privileges or a wrong name
//	}
//	defer src.Close()
//	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	src.StopWhenDone(ctx) // Ctrl-C: Next returns io.EOF, report as usual
//	for {
//		p, err := src.Next() // p.Data is valid until the next call
//		if err == io.EOF {
//			break
//		}
//		...
//	}
//	if _, drops := src.Stats(); drops > 0 {
//		// warn: the kernel dropped frames, the analysis misses packets
//	}
//
// Options.Count and Options.Duration stop the capture by themselves (-c,
// --duration); package capture/pcapngw writes the frames for -w FILE.
//
// The analysis reads a Source through NextOrTick instead of Next (it is an
// analysis.TickingSource): see Ticks below.
//
// # AF_PACKET and the TPACKET_V3 ring
//
// On Linux a packet socket (socket(AF_PACKET, SOCK_RAW, ETH_P_ALL)) bound to
// an interface receives a copy of every frame the interface sends or
// receives, link-layer header included. Reading frames one recvfrom() at a
// time costs a system call and a copy per frame; instead the socket is
// given a receive ring (setsockopt PACKET_RX_RING) that the kernel and the
// process share through mmap. With TPACKET_V3 the ring is a set of large
// blocks (256 KiB here). The kernel packs frames one after another into the
// current block, each behind a struct tpacket3_hdr that carries its capture
// time in nanoseconds, its length on the wire, and VLAN metadata. When a
// block is full, or its timer (tp_retire_blk_tov, Options.BlockTimeout)
// fires, the kernel flips the block's status to TP_STATUS_USER and moves to
// the next block. The reader walks that block's frames in place — no copy —
// and hands it back by writing TP_STATUS_KERNEL. When every block is in user
// space the kernel has nowhere to put new frames and drops them; it counts
// them, and PACKET_STATISTICS (Source.Stats) reports the count. Drops mean
// the analysis is missing packets, so connscope warns about them.
//
// poll() on the socket wakes the reader when a block is ready; Source also
// polls an eventfd so that Stop (Ctrl-C, SIGTERM, --duration) wakes a
// blocked Next at once. Next polls without a timeout; NextOrTick polls for
// at most QuietTick (see Ticks).
//
// Details that matter for correctness:
//   - The socket is created with protocol 0, so it receives nothing until
//     the ring and the filter are in place and it is bound to ETH_P_ALL;
//     no unfiltered frame slips into the ring first.
//   - Drivers strip 802.1Q tags and pass them as metadata
//     (TP_STATUS_VLAN_VALID); Next puts the tag back so frames read as they
//     were on the wire, as tcpdump writes them.
//   - On loopback every frame is seen twice (leaving and arriving); the
//     outgoing copy is dropped, as libpcap does.
//   - With GSO/GRO (veth, loopback, most NICs) a "frame" can be a 64 KiB
//     super-packet longer than the MTU. Blocks are large enough to hold one.
//   - Promiscuous mode is requested as a socket membership
//     (PACKET_MR_PROMISC), which the kernel undoes when the socket closes.
//   - At low packet rates the kernel hands over a block every BlockTimeout
//     however empty it is, so the ring holds blocks × BlockTimeout of
//     traffic before a stalled reader loses frames: many small blocks
//     (128 × 256 KiB by default) beat a few large ones.
//   - Capture times are the kernel's. A frame this host receives is stamped
//     once for every socket; a frame it sends is stamped by each packet
//     socket as it gets its copy, so two captures of the same traffic (say
//     connscope and tcpdump) differ there by a few microseconds.
//
// # Ticks: reporting a closed connection on a quiet interface
//
// Reassembly releases a connection some time after its close (250 ms after
// a complete FIN/FIN teardown, 5 s after a RST, the idle timeout for a
// connection that goes silent), measured in capture time, and capture time
// moves only with packets. On a quiet interface a finished connection
// would wait, unreported, for some unrelated packet. So when no frame has
// come for QuietTick (250 ms), NextOrTick returns no packet but a tick: a
// capture time that no frame still to come is stamped before, which the
// analysis gives to reassembly (reassembly.Assembler.Advance). A connection
// that closed is then printed about half a second after its linger.
//
// A tick must never be ahead of a frame that arrives later, or the
// connection of that frame could be released before it lands. The kernel
// stamps frames with CLOCK_REALTIME as it receives or sends them, a little
// before they are written to the ring, and a frame then waits in the block
// the kernel is filling until the block is full or its timer retires it:
// up to two timer periods (the timer skips a block opened since it last
// fired, and never retires an empty one, so an idle ring has no clock of
// its own to read). A tick is therefore CLOCK_REALTIME less 2 ×
// BlockTimeout and a further 250 ms of slack for a loaded machine, and it is
// given only when every block the kernel handed over has been read, never
// while a backlog remains. Frames the filter rejects in user space (VLAN
// filters, the any device) keep poll busy without reaching the reader;
// NextOrTick still ticks every QuietTick between them. After Stop it gives
// io.EOF, not ticks. If a frame ever comes stamped before a tick, the
// analysis keeps the frame's time and says so in the input's warnings.
// The libpcap source ticks when its 100 ms read times out, with a margin
// of twice that timeout plus the slack (libpcap holds frames that long).
// Capture files never tick: their reports depend on their packets only.
//
// # The any device
//
// AnyInterface ("any") captures every interface at once through a cooked
// socket (SOCK_DGRAM): frames arrive without a link-layer header, and Next
// prefixes each with a Linux cooked v2 (SLL2) header built from the
// kernel's sockaddr_ll — byte for byte what `tcpdump -i any` writes. The
// kernel runs filters on such a socket from the network header, so on any
// the filter runs in user space only.
//
// # Filters
//
// A tcpdump-syntax filter is compiled to classic BPF by package
// capture/bpf and attached to the socket (SO_ATTACH_FILTER), so frames it
// rejects never enter the ring. Every frame is then checked again in user
// space with bpf.Run: if the kernel refused the program, or saw the frame
// differently (the kernel filter runs before the stripped VLAN tag is put
// back, so filters that test VLAN tags are not attached to the kernel at
// all), the result is the same and only CPU is spent.
//
// # Privileges
//
// Packet sockets need CAP_NET_RAW (and promiscuous mode CAP_NET_ADMIN).
// Without it Open fails with an error wrapping ErrPermission that says how to
// grant it. An unknown interface gives ErrNoSuchInterface with the list of
// interfaces that exist.
//
// # Other systems
//
// The pure-Go AF_PACKET source is the default on Linux and builds with
// CGO_ENABLED=0. (It drives the ring with golang.org/x/sys/unix rather
// than gopacket's afpacket package, which imports golang.org/x/net/bpf, a
// module connscope does not depend on.) Building with -tags libpcap (cgo
// and libpcap-dev) replaces it with one based on libpcap (gopacket's pcap
// package), which works on other systems, supports every device type, and
// lets libpcap compile and place the filter. Elsewhere Open fails with
// ErrUnsupported.
//
// # Tests and measurements
//
// The tests that need root (CAP_NET_RAW, network namespaces) skip with a
// message otherwise. The integration tests create namespaces named
// cslive-* joined by a veth pair, run a real HTTP server and client, and
// compare what a Source captures with what tcpdump captures at the same
// time. measure_veth.sh runs BenchmarkVethCapture, which reports the
// packets per second captured without kernel drops during bulk transfers
// over the veth.
package live
