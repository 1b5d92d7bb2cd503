package capture

import (
	"encoding/binary"
	"fmt"
)

// Classic pcap (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcap-04.html):
//
//	file header, 24 bytes:  magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4)
//	record header, 16 bytes: ts_sec(4) ts_frac(4) incl_len(4) orig_len(4), then incl_len bytes
//
// The magic, written in the writer's byte order, tells the byte order and
// whether ts_frac counts microseconds (a1b2c3d4) or nanoseconds (a1b23c4d).
//
// a1b2cd34 is the "modified" pcap of Alexey Kuznetsov's patched libpcap
// (1999, Linux), which libpcap and tshark still read: microseconds, and
// 24-byte record headers, the usual 16 followed by the interface index (4),
// the EtherType (2), the packet type (1) and a pad byte, which the Reader
// skips. (An earlier patch wrote 28-byte headers under the same magic;
// tshark tells them apart by trying both, the Reader reads only the last
// form, the one libpcap reads.)
const (
	pcapFileHeaderLen           = 24
	pcapRecordHeaderLen         = 16
	pcapModifiedRecordHeaderLen = 24

	pcapMagicMicro    = 0xa1b2c3d4
	pcapMagicNano     = 0xa1b23c4d
	pcapMagicModified = 0xa1b2cd34
)

type pcapState struct {
	order           binary.ByteOrder
	nano            bool
	recordHeaderLen int
	snaplen         uint32
	linkType        LinkType
}

func isPcapMagic(b []byte) bool {
	le, be := binary.LittleEndian.Uint32(b), binary.BigEndian.Uint32(b)
	for _, m := range []uint32{pcapMagicMicro, pcapMagicNano, pcapMagicModified} {
		if le == m || be == m {
			return true
		}
	}
	return false
}

func (r *Reader) readPcapHeader() error {
	h, err := r.br.Peek(pcapFileHeaderLen)
	if len(h) < pcapFileHeaderLen {
		return r.peekErr(0, "the pcap file header", pcapFileHeaderLen, h, err)
	}
	st := &r.pcap
	le, be := binary.LittleEndian.Uint32(h), binary.BigEndian.Uint32(h)
	st.nano = le == pcapMagicNano || be == pcapMagicNano
	st.order = binary.LittleEndian
	if be == pcapMagicMicro || be == pcapMagicNano || be == pcapMagicModified {
		st.order = binary.BigEndian
	}
	modified := le == pcapMagicModified || be == pcapMagicModified
	st.recordHeaderLen = pcapRecordHeaderLen
	if modified {
		st.recordHeaderLen = pcapModifiedRecordHeaderLen
	}
	major, minor := st.order.Uint16(h[4:]), st.order.Uint16(h[6:])
	if major != 2 {
		return r.errAt(0, 4, fmt.Errorf("%w: pcap version %d.%d (only 2.x exists)", ErrUnsupportedVersion, major, minor))
	}
	st.snaplen = st.order.Uint32(h[16:])
	// The top bits of the link type field carry FCS information
	// (draft-ietf-opsawg-pcap section 4); the link type is the low 16 bits.
	st.linkType = LinkType(st.order.Uint32(h[20:]) & 0xffff)
	if st.snaplen == 0 {
		r.warn(0, 16, WarnSnaplenZero, func() string { return "the file header declares snap length 0" })
	}
	r.format = "pcap"
	if st.nano {
		r.format = "pcap-ns"
	}
	if modified {
		r.format = "pcap-modified"
	}
	r.consume(pcapFileHeaderLen)
	r.readPacket = r.readPcapRecord
	return nil
}

// readPcapRecord reads one record. The packet data is served straight from
// the read buffer: readBufferSize exceeds any record MaxPacketLength allows.
func (r *Reader) readPcapRecord() (*Packet, error) {
	st := &r.pcap
	frame, off := r.frame+1, r.offset
	hdrLen := st.recordHeaderLen
	h, err := r.br.Peek(hdrLen)
	if len(h) < hdrLen {
		if atCleanEOF(h, err) {
			return nil, err
		}
		return nil, r.peekErr(frame, "the record header", hdrLen, h, err)
	}
	// The four fields every record header starts with (a modified pcap's
	// header goes on past them), as a fixed-size array: one length check
	// where hdrLen, not a constant, would leave one per field.
	fields := (*[pcapRecordHeaderLen]byte)(h)
	sec, frac := st.order.Uint32(fields[0:4]), st.order.Uint32(fields[4:8])
	capLen, origLen := st.order.Uint32(fields[8:12]), st.order.Uint32(fields[12:16])
	if capLen > MaxPacketLength {
		return nil, r.errAt(frame, off, fmt.Errorf("%w: record claims %d captured bytes (limit %d)", ErrTooLarge, capLen, MaxPacketLength))
	}
	n := hdrLen + int(capLen)
	rec, err := r.br.Peek(n)
	if len(rec) < n {
		return nil, r.peekErr(frame, "the record", n, rec, err)
	}
	r.consume(n)
	r.frame = frame

	unit, limit := uint32(1000), uint32(1e6)
	if st.nano {
		unit, limit = 1, 1e9
	}
	if frac >= limit {
		r.warn(frame, off, WarnBadTimestamp, func() string {
			return fmt.Sprintf("fraction of a second %d is not below %d", frac, limit)
		})
	}
	if st.snaplen != 0 && capLen > st.snaplen {
		r.warn(frame, off, WarnCaplenOverSnaplen, func() string {
			return fmt.Sprintf("captured length %d exceeds the file's snap length %d", capLen, st.snaplen)
		})
	}
	if origLen < capLen {
		r.warn(frame, off, WarnCaplenOverOrigLen, func() string {
			return fmt.Sprintf("captured length %d exceeds the original length %d", capLen, origLen)
		})
		origLen = capLen
	}
	r.pkt = Packet{
		Frame:          frame,
		Time:           int64(sec)*1e9 + int64(frac)*int64(unit),
		CaptureLength:  int(capLen),
		OriginalLength: int(origLen),
		LinkType:       st.linkType,
		Offset:         off,
		Data:           rec[hdrLen:n:n],
	}
	return &r.pkt, nil
}
