package capturetest

import (
	"encoding/binary"
	"io"

	"github.com/connscope/connscope/capture"
)

// PcapOptions shapes a classic pcap file.
type PcapOptions struct {
	BigEndian  bool   // write big-endian (default little-endian)
	Nanosecond bool   // a1b23c4d magic, nanosecond fractions
	Snaplen    uint32 // 0 writes 262144; use RawSnaplen for other values
	RawSnaplen bool   // write Snaplen as given, even 0
	Major      uint16 // version major; 0 means 2
	Minor      uint16 // version minor; 0 means 4 (when Major is also 0)
	// Modified writes Kuznetsov's "modified" pcap (magic a1b2cd34,
	// microseconds): each record header adds an interface index, an
	// EtherType, a packet type and a pad byte (24 bytes in all). Record
	// writes fill them with ModifiedFields.
	Modified bool
}

// ModifiedFields are the extra record header fields of a modified pcap.
type ModifiedFields struct {
	IfIndex  uint32
	Protocol uint16 // EtherType, as Linux's skb->protocol
	PktType  uint8  // PACKET_HOST 0, PACKET_BROADCAST 1, ... PACKET_OUTGOING 4
}

// Pcap writes a classic pcap file. Errors from the underlying writer are
// kept and returned by Err (tests write to memory, where none happen).
type Pcap struct {
	w        io.Writer
	order    binary.ByteOrder
	nano     bool
	modified bool
	// Fields fill the extra record header fields of a modified pcap.
	Fields ModifiedFields
	err    error
}

// NewPcap writes the file header and returns the writer.
func NewPcap(w io.Writer, lt capture.LinkType, o PcapOptions) *Pcap {
	p := &Pcap{w: w, order: order(o.BigEndian), nano: o.Nanosecond && !o.Modified, modified: o.Modified}
	h := make([]byte, 24)
	magic := uint32(0xa1b2c3d4)
	switch {
	case o.Modified:
		magic = 0xa1b2cd34
	case o.Nanosecond:
		magic = 0xa1b23c4d
	}
	major, minor := o.Major, o.Minor
	if major == 0 && minor == 0 {
		major, minor = 2, 4
	}
	snap := o.Snaplen
	if snap == 0 && !o.RawSnaplen {
		snap = capture.MaxPacketLength
	}
	p.order.PutUint32(h, magic)
	p.order.PutUint16(h[4:], major)
	p.order.PutUint16(h[6:], minor)
	p.order.PutUint32(h[16:], snap)
	p.order.PutUint32(h[20:], uint32(lt))
	p.write(h)
	return p
}

// Write writes a record captured whole at time t (ns since the epoch).
func (p *Pcap) Write(t int64, data []byte) { p.WriteRecord(t, data, len(data)) }

// WriteRecord writes a record whose original length may exceed len(data).
func (p *Pcap) WriteRecord(t int64, data []byte, origLen int) {
	p.WriteHeader(t, uint32(len(data)), uint32(origLen))
	p.write(data)
}

// WriteHeader writes only a record header, with any lengths: for broken files.
func (p *Pcap) WriteHeader(t int64, capLen, origLen uint32) {
	h := make([]byte, 16, 24)
	sec, frac := t/1e9, t%1e9
	if !p.nano {
		frac /= 1000
	}
	p.order.PutUint32(h, uint32(sec))
	p.order.PutUint32(h[4:], uint32(frac))
	p.order.PutUint32(h[8:], capLen)
	p.order.PutUint32(h[12:], origLen)
	if p.modified {
		h = h[:24]
		p.order.PutUint32(h[16:], p.Fields.IfIndex)
		p.order.PutUint16(h[20:], p.Fields.Protocol)
		h[22], h[23] = p.Fields.PktType, 0
	}
	p.write(h)
}

// WriteRaw writes bytes as they are.
func (p *Pcap) WriteRaw(b []byte) { p.write(b) }

// Err returns the first write error.
func (p *Pcap) Err() error { return p.err }

func (p *Pcap) write(b []byte) {
	if p.err == nil {
		_, p.err = p.w.Write(b)
	}
}

func order(big bool) binary.ByteOrder {
	if big {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
