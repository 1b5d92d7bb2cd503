//go:build linux && !libpcap

package live

import (
	"encoding/binary"
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ring is a TPACKET_V3 receive ring mapped from a packet socket.
//
// The kernel fills blocks in order; when a block is full, or its timer
// (tp_retire_blk_tov) expires, the kernel sets TP_STATUS_USER in the block's
// status word and moves on. The reader walks the packets of that block, then
// hands it back by writing TP_STATUS_KERNEL. Frames stay in the shared
// memory the whole time: nothing is copied.
type ring struct {
	mem       []byte
	blockSize int
	blocks    int

	block   int // index of the block being read or waited for
	holding bool
	left    uint32 // packets still to read in the held block
	next    int    // offset of the next packet header inside the held block
}

// Offsets inside struct tpacket_block_desc (linux/if_packet.h): version,
// offset_to_priv, then tpacket_hdr_v1 {block_status, num_pkts,
// offset_to_first_pkt, blk_len, seq_num, ts_first_pkt, ts_last_pkt}.
const (
	blockStatusOff = 8
	blockNumPkts   = 12
	blockFirstPkt  = 16
	blockLenOff    = 20
)

// Offsets inside struct tpacket3_hdr, and of the struct sockaddr_ll that
// follows it at TPACKET_ALIGN(sizeof(struct tpacket3_hdr)).
const (
	pktNextOff    = 0
	pktSecOff     = 4
	pktNsecOff    = 8
	pktSnaplenOff = 12
	pktLenOff     = 16
	pktStatusOff  = 20
	pktMacOff     = 24
	pktVlanTCI    = 32
	pktVlanTPID   = 36
	pktHdrLen     = 48
	sllProtoOff   = pktHdrLen + 2 // network byte order
	sllIfindexOff = pktHdrLen + 4
	sllHatypeOff  = pktHdrLen + 8
	sllPkttypeOff = pktHdrLen + 10
	sllHalenOff   = pktHdrLen + 11
	sllAddrOff    = pktHdrLen + 12
	sllEnd        = pktHdrLen + 20
)

func newRing(fd, bufferSize int, blockTimeoutMs uint32) (*ring, error) {
	blocks := bufferSize / blockSize
	if blocks < 2 {
		blocks = 2
	}
	req := unix.TpacketReq3{
		Block_size:       blockSize,
		Block_nr:         uint32(blocks),
		Frame_size:       frameSize,
		Frame_nr:         uint32(blocks * (blockSize / frameSize)),
		Retire_blk_tov:   blockTimeoutMs,
		Sizeof_priv:      0,
		Feature_req_word: 0,
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return nil, fmt.Errorf("setting up the TPACKET_V3 ring (%d blocks of %d bytes): %w", blocks, blockSize, err)
	}
	mem, err := unix.Mmap(fd, 0, blocks*blockSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mapping the %d-byte ring: %w", blocks*blockSize, err)
	}
	return &ring{mem: mem, blockSize: blockSize, blocks: blocks}, nil
}

func (r *ring) close() error {
	if r.mem == nil {
		return nil
	}
	err := unix.Munmap(r.mem)
	r.mem = nil
	return err
}

func (r *ring) u32(off int) uint32 { return binary.NativeEndian.Uint32(r.mem[off:]) }
func (r *ring) u16(off int) uint16 { return binary.NativeEndian.Uint16(r.mem[off:]) }

// statusWord points at a block's status, which kernel and reader hand back
// and forth; it is accessed atomically so the packet data written before it
// is visible once TP_STATUS_USER is seen.
func (r *ring) statusWord(block int) *uint32 {
	return (*uint32)(unsafe.Pointer(&r.mem[block*r.blockSize+blockStatusOff]))
}

// release hands the held block back to the kernel and moves to the next.
func (r *ring) release() {
	if !r.holding {
		return
	}
	atomic.StoreUint32(r.statusWord(r.block), unix.TP_STATUS_KERNEL)
	r.holding = false
	r.block = (r.block + 1) % r.blocks
}

// acquire takes the current block if the kernel has handed it over.
func (r *ring) acquire() bool {
	if atomic.LoadUint32(r.statusWord(r.block))&unix.TP_STATUS_USER == 0 {
		return false
	}
	base := r.block * r.blockSize
	r.holding = true
	r.left = r.u32(base + blockNumPkts)
	r.next = int(r.u32(base + blockFirstPkt))
	return true
}

// rawPacket is one frame as the ring describes it.
type rawPacket struct {
	data     []byte // aliases the ring
	sec      uint32
	nsec     uint32
	wireLen  uint32
	status   uint32
	vlanTCI  uint16
	vlanTPID uint16
	// From the sockaddr_ll the kernel puts behind the header.
	pkttype  uint8
	protocol uint16 // EtherType of the network layer
	ifindex  uint32
	hatype   uint16
	halen    uint8
	addr     [8]byte
}

// nextPacket returns the next frame of the held block, or false when the
// block is exhausted (or describes itself inconsistently, which would be a
// kernel bug; the rest of the block is then skipped rather than trusted).
func (r *ring) nextPacket() (rawPacket, bool) {
	if !r.holding || r.left == 0 {
		return rawPacket{}, false
	}
	base := r.block * r.blockSize
	h := base + r.next
	if r.next < 0 || r.next+sllEnd > r.blockSize {
		r.left = 0
		return rawPacket{}, false
	}
	snap := int(r.u32(h + pktSnaplenOff))
	mac := int(r.u16(h + pktMacOff))
	if mac+snap > r.blockSize-r.next {
		r.left = 0
		return rawPacket{}, false
	}
	p := rawPacket{
		data:     r.mem[h+mac : h+mac+snap : h+mac+snap],
		sec:      r.u32(h + pktSecOff),
		nsec:     r.u32(h + pktNsecOff),
		wireLen:  r.u32(h + pktLenOff),
		status:   r.u32(h + pktStatusOff),
		vlanTCI:  uint16(r.u32(h + pktVlanTCI)),
		vlanTPID: r.u16(h + pktVlanTPID),
		pkttype:  r.mem[h+sllPkttypeOff],
		protocol: binary.BigEndian.Uint16(r.mem[h+sllProtoOff:]),
		ifindex:  r.u32(h + sllIfindexOff),
		hatype:   r.u16(h + sllHatypeOff),
		halen:    r.mem[h+sllHalenOff],
	}
	copy(p.addr[:], r.mem[h+sllAddrOff:h+sllEnd])
	r.left--
	next := r.u32(h + pktNextOff)
	if next == 0 && r.left > 0 {
		r.left = 0
	}
	r.next += int(next)
	return p, true
}
