package capture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html)
// is a sequence of blocks:
//
//	type(4) total_length(4) body... total_length(4)
//
// total_length counts the whole block, is a multiple of 4 and appears at
// both ends. A Section Header Block (SHB) starts each section and fixes its
// byte order with a byte-order mark; Interface Description Blocks (IDB)
// declare the section's interfaces, numbered from 0, each with its own link
// type, snap length and timestamp unit. Packets come in Enhanced Packet
// Blocks (EPB), Simple Packet Blocks (SPB, interface 0, no timestamp) or the
// obsolete Packet Block (PB). Every other block is skipped; systemd journal
// and custom blocks still take a frame number, as in Wireshark (checked
// against tshark 4.0), so frame numbers stay the same as Wireshark's.
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 1
	blockPB  = 2
	blockSPB = 3
	blockNRB = 4 // name resolution
	blockISB = 5 // interface statistics
	blockEPB = 6
	blockDSB = 10 // decryption secrets

	// Wireshark shows these non-packet blocks as frames of their own, so
	// they take a frame number (but are not returned by Next).
	blockSystemdJournal = 9
	blockCustomCopy     = 0x00000bad
	blockCustomNoCopy   = 0x40000bad

	blockHeaderLen  = 8
	blockTrailerLen = 4
	byteOrderMagic  = uint32(0x1a2b3c4d)

	// Minimum total lengths: header, fixed body fields, trailer.
	minSHBLen   = 28
	minIDBLen   = 20
	minEPBLen   = 32
	minPBLen    = 32
	minSPBLen   = 16
	minBlockLen = 12

	// maxInterfaces bounds the interface table of one section; each IDB
	// costs memory, and a hostile file could otherwise declare millions.
	maxInterfaces = 1 << 16

	optEndOfOpt  = 0
	optTSResol   = 9
	optTSOffset  = 14
	optTSOffsLen = 8
)

var pcapngSHBMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

type pcapngState struct {
	order    binary.ByteOrder
	ifaces   []ngInterface
	sections int
}

// ngInterface is what an IDB declares.
type ngInterface struct {
	linkType LinkType
	snaplen  uint32 // 0: no limit
	ts       tsConverter
}

func blockName(typ uint32) string {
	switch typ {
	case blockSHB:
		return "section header block"
	case blockIDB:
		return "interface description block"
	case blockEPB:
		return "enhanced packet block"
	case blockSPB:
		return "simple packet block"
	case blockPB:
		return "packet block"
	case blockNRB:
		return "name resolution block"
	case blockISB:
		return "interface statistics block"
	case blockDSB:
		return "decryption secrets block"
	case blockSystemdJournal:
		return "systemd journal export block"
	case blockCustomCopy, blockCustomNoCopy:
		return "custom block"
	}
	return fmt.Sprintf("block of type 0x%08x", typ)
}

func (r *Reader) readPcapngStart() error {
	r.format = "pcapng"
	r.readPacket = r.readPcapngPacket
	return r.readSHB()
}

// readPcapngPacket reads blocks until one carries a packet.
func (r *Reader) readPcapngPacket() (*Packet, error) {
	st := &r.ng
	for {
		frame := r.frame + 1
		h, err := r.br.Peek(blockHeaderLen)
		if len(h) < blockHeaderLen {
			if atCleanEOF(h, err) {
				return nil, err
			}
			return nil, r.peekErr(frame, "a block header", blockHeaderLen, h, err)
		}
		if bytes.Equal(h[:4], pcapngSHBMagic) {
			if err := r.readSHB(); err != nil {
				return nil, err
			}
			continue
		}
		typ, length := st.order.Uint32(h), st.order.Uint32(h[4:])
		switch typ {
		case blockEPB, blockSPB, blockPB:
			minLen := uint32(minEPBLen)
			if typ == blockSPB {
				minLen = minSPBLen
			}
			off := r.offset
			b, err := r.readBlock(frame, typ, length, minLen)
			if err != nil {
				return nil, err
			}
			return r.ngPacket(frame, off, typ, b)
		case blockIDB:
			off := r.offset
			b, err := r.readBlock(0, typ, length, minIDBLen)
			if err != nil {
				return nil, err
			}
			if err := r.addInterface(off, b); err != nil {
				return nil, err
			}
		case blockSystemdJournal, blockCustomCopy, blockCustomNoCopy:
			if err := r.skipBlock(typ, length); err != nil {
				return nil, err
			}
			r.frame++
			r.nonPacketFrames++
		default:
			if err := r.skipBlock(typ, length); err != nil {
				return nil, err
			}
		}
	}
}

// checkBlockLength validates a block's total length before anything is read.
func (r *Reader) checkBlockLength(frame uint64, typ, length, minLen uint32) error {
	switch {
	case length < minLen:
		return r.errAt(frame, r.offset, fmt.Errorf("%w: %s length %d is below the minimum %d", ErrCorrupt, blockName(typ), length, minLen))
	case length%4 != 0:
		return r.errAt(frame, r.offset, fmt.Errorf("%w: %s length %d is not a multiple of 4", ErrCorrupt, blockName(typ), length))
	case length > MaxBlockLength:
		return r.errAt(frame, r.offset, fmt.Errorf("%w: %s length %d (limit %d)", ErrTooLarge, blockName(typ), length, MaxBlockLength))
	}
	return nil
}

// readBlock returns a whole block (header to trailer) and consumes it. The
// slice aliases the read buffer (or r.big for blocks larger than it) and is
// valid until the next read.
func (r *Reader) readBlock(frame uint64, typ, length, minLen uint32) ([]byte, error) {
	if err := r.checkBlockLength(frame, typ, length, minLen); err != nil {
		return nil, err
	}
	n := int(length)
	off := r.offset
	var b []byte
	if n <= r.br.Size() {
		var err error
		if b, err = r.br.Peek(n); len(b) < n {
			return nil, r.peekErr(frame, "the "+blockName(typ), n, b, err)
		}
		r.consume(n)
	} else {
		if cap(r.big) < n {
			r.big = make([]byte, n)
		}
		b = r.big[:n]
		got, err := io.ReadFull(r.br, b)
		r.offset += int64(got)
		if err != nil {
			return nil, r.peekErr2(frame, off, "the "+blockName(typ), n, got, err)
		}
	}
	if trailer := r.ng.order.Uint32(b[n-blockTrailerLen:]); trailer != length {
		return nil, r.errAt(frame, off, fmt.Errorf("%w: %s length %d at its start but %d at its end", ErrCorrupt, blockName(typ), length, trailer))
	}
	return b, nil
}

// peekErr2 is peekErr for a read that started at off and got only got bytes.
func (r *Reader) peekErr2(frame uint64, off int64, what string, want, got int, err error) *Error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return r.errAt(frame, off, fmt.Errorf("%w: %s needs %d bytes, only %d remain", ErrTruncated, what, want, got))
	}
	return r.errAt(frame, off, fmt.Errorf("reading %s: %w", what, err))
}

// skipBlock discards a block this reader does not use, checking its trailer.
func (r *Reader) skipBlock(typ, length uint32) error {
	frame := r.frame + 1 // unknown blocks might have been packets to Wireshark
	switch typ {
	case blockNRB, blockISB, blockDSB:
		frame = 0 // Wireshark numbers no frame for these: name none
	}
	if err := r.checkBlockLength(frame, typ, length, minBlockLen); err != nil {
		return err
	}
	off := r.offset
	body := int(length) - blockTrailerLen
	d, err := r.br.Discard(body)
	r.offset += int64(d)
	if d < body {
		return r.peekErr2(frame, off, "the "+blockName(typ), int(length), d, err)
	}
	t, err := r.br.Peek(blockTrailerLen)
	if len(t) < blockTrailerLen {
		return r.peekErr2(frame, off, "the "+blockName(typ), int(length), body+len(t), err)
	}
	if trailer := r.ng.order.Uint32(t); trailer != length {
		return r.errAt(frame, off, fmt.Errorf("%w: %s length %d at its start but %d at its end", ErrCorrupt, blockName(typ), length, trailer))
	}
	r.consume(blockTrailerLen)
	return nil
}

// readSHB reads a section header: it sets the byte order and forgets the
// previous section's interfaces.
func (r *Reader) readSHB() error {
	const fixed = 16 // type, length, byte-order mark, major, minor
	h, err := r.br.Peek(fixed)
	if len(h) < fixed {
		return r.peekErr(0, "the section header block", fixed, h, err)
	}
	st := &r.ng
	switch byteOrderMagic {
	case binary.LittleEndian.Uint32(h[8:]):
		st.order = binary.LittleEndian
	case binary.BigEndian.Uint32(h[8:]):
		st.order = binary.BigEndian
	default:
		return r.errAt(0, r.offset, fmt.Errorf("%w: section header block byte-order mark % x", ErrCorrupt, h[8:12]))
	}
	if major, minor := st.order.Uint16(h[12:]), st.order.Uint16(h[14:]); major != 1 {
		return r.errAt(0, r.offset+12, fmt.Errorf("%w: pcapng version %d.%d (only 1.x exists)", ErrUnsupportedVersion, major, minor))
	}
	if _, err := r.readBlock(0, blockSHB, st.order.Uint32(h[4:]), minSHBLen); err != nil {
		return err
	}
	st.ifaces = st.ifaces[:0]
	st.sections++
	return nil
}

// addInterface records an IDB. b is the whole block.
func (r *Reader) addInterface(off int64, b []byte) error {
	st := &r.ng
	if len(st.ifaces) >= maxInterfaces {
		return r.errAt(0, off, fmt.Errorf("%w: more than %d interfaces in one section", ErrTooLarge, maxInterfaces))
	}
	ifc := ngInterface{
		linkType: LinkType(st.order.Uint16(b[8:])),
		snaplen:  st.order.Uint32(b[12:]),
		ts:       newTSConverter(6), // microseconds unless if_tsresol says otherwise
	}
	// Options: code(2) length(2) value padded to 4. Malformed options end
	// the list, with a warning; the interface itself is still usable.
	opts := b[16 : len(b)-blockTrailerLen]
	for len(opts) >= 4 {
		code, olen := st.order.Uint16(opts), int(st.order.Uint16(opts[2:]))
		if code == optEndOfOpt {
			break
		}
		padded := (olen + 3) &^ 3
		if 4+padded > len(opts) {
			at, ifIndex := len(b)-blockTrailerLen-len(opts), len(st.ifaces)
			r.warn(0, off, WarnDamagedOptions, func() string {
				return fmt.Sprintf("interface %d's option %d at byte %d of its block claims %d bytes, past the end of the block: it and the options after it (if_tsresol, if_tsoffset among them) are ignored, so this interface's times may be in the wrong unit", ifIndex, code, at, olen)
			})
			break
		}
		val := opts[4 : 4+olen]
		switch {
		case code == optTSResol && olen >= 1:
			ifc.ts = newTSConverter(val[0])
		case code == optTSOffset && olen == optTSOffsLen:
			ifc.ts.offsetSec = int64(st.order.Uint64(val))
		}
		opts = opts[4+padded:]
	}
	// tsresol and tsoffset may come in either order.
	st.ifaces = append(st.ifaces, ifc)
	return nil
}

// ngPacket builds the Packet for an EPB, SPB or PB. b is the whole block.
func (r *Reader) ngPacket(frame uint64, off int64, typ uint32, b []byte) (*Packet, error) {
	st := &r.ng
	var (
		ifIndex         uint32
		ts              uint64
		capLen, origLen uint32
		dataAt          = 28
		room            = uint32(len(b) - minEPBLen) // bytes available for data
	)
	switch typ {
	case blockEPB:
		ifIndex = st.order.Uint32(b[8:])
		ts = uint64(st.order.Uint32(b[12:]))<<32 | uint64(st.order.Uint32(b[16:]))
		capLen, origLen = st.order.Uint32(b[20:]), st.order.Uint32(b[24:])
	case blockPB:
		ifIndex = uint32(st.order.Uint16(b[8:]))
		ts = uint64(st.order.Uint32(b[12:]))<<32 | uint64(st.order.Uint32(b[16:]))
		capLen, origLen = st.order.Uint32(b[20:]), st.order.Uint32(b[24:])
	case blockSPB:
		// No captured length: the packet fills the block, up to its
		// original length and the interface's snap length.
		dataAt, room = 12, uint32(len(b)-minSPBLen)
		origLen = st.order.Uint32(b[8:])
		capLen = min(origLen, room)
	}
	if int(ifIndex) >= len(st.ifaces) {
		return nil, r.errAt(frame, off, fmt.Errorf("%w: %s names interface %d, but the section defines %d", ErrCorrupt, blockName(typ), ifIndex, len(st.ifaces)))
	}
	ifc := &st.ifaces[ifIndex]
	if typ == blockSPB && ifc.snaplen != 0 {
		capLen = min(capLen, ifc.snaplen)
	}
	if capLen > MaxPacketLength {
		return nil, r.errAt(frame, off, fmt.Errorf("%w: %s claims %d captured bytes (limit %d)", ErrTooLarge, blockName(typ), capLen, MaxPacketLength))
	}
	if capLen > room {
		return nil, r.errAt(frame, off, fmt.Errorf("%w: %s claims %d captured bytes but has room for %d", ErrCorrupt, blockName(typ), capLen, room))
	}
	r.frame = frame
	if ifc.snaplen != 0 && capLen > ifc.snaplen {
		r.warn(frame, off, WarnCaplenOverSnaplen, func() string {
			return fmt.Sprintf("captured length %d exceeds interface %d's snap length %d", capLen, ifIndex, ifc.snaplen)
		})
	}
	if origLen < capLen {
		r.warn(frame, off, WarnCaplenOverOrigLen, func() string {
			return fmt.Sprintf("captured length %d exceeds the original length %d", capLen, origLen)
		})
		origLen = capLen
	}
	var t int64
	if typ == blockSPB {
		// A simple packet block has no timestamp. Reusing the previous
		// packet's time keeps durations and gaps meaningful.
		t = r.lastTime
	} else if nanos, ok := ifc.ts.nanos(ts); ok {
		t = nanos
	} else {
		// Out of range: keep the previous packet's time, as for a simple
		// packet block, so one damaged stamp does not throw the timeline
		// centuries away.
		t = r.lastTime
		r.warn(frame, off, WarnTimestampOutOfRange, func() string {
			return fmt.Sprintf("timestamp %d on interface %d (with its if_tsresol and if_tsoffset) lies outside 1677-09-21 to 2262-04-11, the range of 64-bit nanoseconds since 1970; the previous packet's time is used", ts, ifIndex)
		})
	}
	end := dataAt + int(capLen)
	r.pkt = Packet{
		Frame:          frame,
		Time:           t,
		CaptureLength:  int(capLen),
		OriginalLength: int(origLen),
		LinkType:       ifc.linkType,
		Interface:      int(ifIndex),
		Offset:         off,
		Data:           b[dataAt:end:end],
	}
	return &r.pkt, nil
}
