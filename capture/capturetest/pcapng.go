package capturetest

import (
	"encoding/binary"
	"io"

	"github.com/connscope/connscope/capture"
)

// pcapng block types.
const (
	BlockSHB     = 0x0a0d0d0a
	BlockIDB     = 1
	BlockPB      = 2 // obsolete Packet Block
	BlockSPB     = 3
	BlockNRB     = 4
	BlockISB     = 5
	BlockEPB     = 6
	BlockJournal = 9 // systemd journal export
	BlockDSB     = 10
	BlockCustom  = 0x00000bad
	BlockCustomN = 0x40000bad // custom, not to be copied
)

// Pcapng writes a pcapng file block by block.
type Pcapng struct {
	w     io.Writer
	order binary.ByteOrder
	err   error
}

// NewPcapng returns a writer; call Section before anything else.
func NewPcapng(w io.Writer) *Pcapng { return &Pcapng{w: w, order: binary.LittleEndian} }

// Section starts a section in the given byte order.
func (p *Pcapng) Section(bigEndian bool) {
	p.order = order(bigEndian)
	body := make([]byte, 16)
	p.order.PutUint32(body, 0x1a2b3c4d)
	p.order.PutUint16(body[4:], 1)
	p.order.PutUint16(body[6:], 0)
	p.order.PutUint64(body[8:], ^uint64(0)) // section length unknown
	p.Block(BlockSHB, body)
}

// Interface describes an interface (IDB).
type Interface struct {
	LinkType capture.LinkType
	Snaplen  uint32
	// TSResol is the if_tsresol byte; 0 leaves the option out (µs).
	TSResol byte
	// TSOffset is if_tsoffset in seconds; 0 leaves the option out.
	TSOffset int64
}

// Interface writes an IDB.
func (p *Pcapng) Interface(i Interface) {
	body := make([]byte, 8)
	p.order.PutUint16(body, uint16(i.LinkType))
	p.order.PutUint32(body[4:], i.Snaplen)
	if i.TSResol != 0 {
		body = p.option(body, 9, []byte{i.TSResol})
	}
	if i.TSOffset != 0 {
		v := make([]byte, 8)
		p.order.PutUint64(v, uint64(i.TSOffset))
		body = p.option(body, 14, v)
	}
	if i.TSResol != 0 || i.TSOffset != 0 {
		body = p.option(body, 0, nil)
	}
	p.Block(BlockIDB, body)
}

func (p *Pcapng) option(b []byte, code uint16, v []byte) []byte {
	h := make([]byte, 4)
	p.order.PutUint16(h, code)
	p.order.PutUint16(h[2:], uint16(len(v)))
	b = append(b, h...)
	b = append(b, v...)
	return append(b, make([]byte, pad4(len(v)))...)
}

// EPB writes an Enhanced Packet Block; ts is in the interface's units.
func (p *Pcapng) EPB(iface uint32, ts uint64, data []byte, origLen int) {
	body := make([]byte, 20, 20+len(data)+3)
	p.order.PutUint32(body, iface)
	p.order.PutUint32(body[4:], uint32(ts>>32))
	p.order.PutUint32(body[8:], uint32(ts))
	p.order.PutUint32(body[12:], uint32(len(data)))
	p.order.PutUint32(body[16:], uint32(origLen))
	body = append(body, data...)
	body = append(body, make([]byte, pad4(len(data)))...)
	p.Block(BlockEPB, body)
}

// PB writes an obsolete Packet Block.
func (p *Pcapng) PB(iface uint16, ts uint64, data []byte, origLen int) {
	body := make([]byte, 20, 20+len(data)+3)
	p.order.PutUint16(body, iface)
	p.order.PutUint32(body[4:], uint32(ts>>32))
	p.order.PutUint32(body[8:], uint32(ts))
	p.order.PutUint32(body[12:], uint32(len(data)))
	p.order.PutUint32(body[16:], uint32(origLen))
	body = append(body, data...)
	body = append(body, make([]byte, pad4(len(data)))...)
	p.Block(BlockPB, body)
}

// SPB writes a Simple Packet Block (interface 0, no timestamp).
func (p *Pcapng) SPB(data []byte, origLen int) {
	body := make([]byte, 4, 4+len(data)+3)
	p.order.PutUint32(body, uint32(origLen))
	body = append(body, data...)
	body = append(body, make([]byte, pad4(len(data)))...)
	p.Block(BlockSPB, body)
}

// Block writes a block of any type around body (padded to 4 bytes).
func (p *Pcapng) Block(typ uint32, body []byte) {
	body = append(body[:len(body):len(body)], make([]byte, pad4(len(body)))...)
	n := uint32(12 + len(body))
	p.BlockRaw(typ, n, body, n)
}

// BlockRaw writes a block with the given lengths, right or wrong.
func (p *Pcapng) BlockRaw(typ, length uint32, body []byte, trailer uint32) {
	h := make([]byte, 8)
	p.order.PutUint32(h, typ)
	p.order.PutUint32(h[4:], length)
	p.write(h)
	p.write(body)
	t := make([]byte, 4)
	p.order.PutUint32(t, trailer)
	p.write(t)
}

// WriteRaw writes bytes as they are.
func (p *Pcapng) WriteRaw(b []byte) { p.write(b) }

// Order is the byte order of the current section.
func (p *Pcapng) Order() binary.ByteOrder { return p.order }

// Err returns the first write error.
func (p *Pcapng) Err() error { return p.err }

func (p *Pcapng) write(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

func pad4(n int) int { return (4 - n%4) % 4 }
