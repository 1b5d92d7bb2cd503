package pcapngw

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/connscope/connscope/capture"
)

// Block types and option codes (draft-ietf-opsawg-pcapng).
const (
	blockSHB = 0x0A0D0D0A
	blockIDB = 0x00000001
	blockISB = 0x00000005
	blockEPB = 0x00000006

	byteOrderMagic = 0x1A2B3C4D

	optEnd        = 0
	shbUserAppl   = 4
	ifName        = 2
	ifTsresol     = 9
	isbStartTime  = 2
	isbEndTime    = 3
	isbIfRecv     = 4
	isbIfDrop     = 5
	isbUsrDeliv   = 8
	tsresolNanos  = 9 // 10^-9 s
	maxPacketSize = 1 << 30
)

// Interface describes the one interface a Writer records.
type Interface struct {
	Name     string           // e.g. "eth0"; optional
	LinkType capture.LinkType // link-layer header type of the frames
	Snaplen  int              // 0 means unlimited
}

// Writer writes one pcapng section with one interface. It buffers: call
// Flush (or Close) to push everything to the underlying writer.
type Writer struct {
	file    *os.File // the file Create made; nil for NewWriter
	w       *bufio.Writer
	buf     []byte
	hdr     [8]byte
	err     error // first write error; every later call returns it
	packets uint64
	iface   Interface
}

// NewWriter writes the section header and the interface description.
// appName goes into the shb_userappl option (e.g. "connscope 1.0").
func NewWriter(w io.Writer, appName string, iface Interface) (*Writer, error) {
	if iface.Snaplen < 0 {
		return nil, fmt.Errorf("pcapngw: negative snap length %d", iface.Snaplen)
	}
	pw := &Writer{w: bufio.NewWriterSize(w, 1<<16), iface: iface}

	// SHB: magic, major 1, minor 0, section length -1 (unknown), options.
	body := binary.NativeEndian.AppendUint32(nil, byteOrderMagic)
	body = binary.NativeEndian.AppendUint16(body, 1)
	body = binary.NativeEndian.AppendUint16(body, 0)
	body = binary.NativeEndian.AppendUint64(body, ^uint64(0))
	if appName != "" {
		body = appendOption(body, shbUserAppl, []byte(appName))
	}
	body = appendOption(body, optEnd, nil)
	pw.block(blockSHB, body)

	// IDB: link type, reserved, snap length, options.
	body = binary.NativeEndian.AppendUint16(nil, uint16(iface.LinkType))
	body = binary.NativeEndian.AppendUint16(body, 0)
	body = binary.NativeEndian.AppendUint32(body, uint32(iface.Snaplen))
	if iface.Name != "" {
		body = appendOption(body, ifName, []byte(iface.Name))
	}
	body = appendOption(body, ifTsresol, []byte{tsresolNanos})
	body = appendOption(body, optEnd, nil)
	pw.block(blockIDB, body)
	if pw.err != nil {
		return nil, pw.err
	}
	return pw, nil
}

// WritePacket appends one frame as an Enhanced Packet Block. It uses the
// packet's Time, Data and OriginalLength; Frame and LinkType are implied by
// the order of writes and by the interface.
func (pw *Writer) WritePacket(p *capture.Packet) error {
	if pw.err != nil {
		return pw.err
	}
	if len(p.Data) > maxPacketSize {
		return fmt.Errorf("pcapngw: frame %d: %d bytes is too large", p.Frame, len(p.Data))
	}
	if p.LinkType != pw.iface.LinkType {
		return fmt.Errorf("pcapngw: frame %d: link type %d, but the interface was declared %d", p.Frame, p.LinkType, pw.iface.LinkType)
	}
	orig := p.OriginalLength
	if orig < len(p.Data) {
		orig = len(p.Data)
	}
	ts := uint64(p.Time)
	b := pw.buf[:0]
	b = binary.NativeEndian.AppendUint32(b, 0) // interface 0
	b = binary.NativeEndian.AppendUint32(b, uint32(ts>>32))
	b = binary.NativeEndian.AppendUint32(b, uint32(ts))
	b = binary.NativeEndian.AppendUint32(b, uint32(len(p.Data)))
	b = binary.NativeEndian.AppendUint32(b, uint32(orig))
	b = append(b, p.Data...)
	b = pad4(b)
	pw.buf = b
	pw.block(blockEPB, b)
	if pw.err == nil {
		pw.packets++
	}
	return pw.err
}

// Stats are the counters an Interface Statistics Block records.
type Stats struct {
	Start, End int64  // capture times (ns since the epoch) of the first and last packet
	Received   uint64 // isb_ifrecv: packets the capture received
	Dropped    uint64 // isb_ifdrop: packets the kernel dropped (ring full)
}

// WriteStats appends an Interface Statistics Block with the capture's
// counters, so the file itself says whether packets were lost.
func (pw *Writer) WriteStats(st Stats) error {
	if pw.err != nil {
		return pw.err
	}
	ts := uint64(st.End)
	body := binary.NativeEndian.AppendUint32(nil, 0)
	body = binary.NativeEndian.AppendUint32(body, uint32(ts>>32))
	body = binary.NativeEndian.AppendUint32(body, uint32(ts))
	u64 := func(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }
	tsopt := func(t int64) []byte {
		b := binary.NativeEndian.AppendUint32(nil, uint32(uint64(t)>>32))
		return binary.NativeEndian.AppendUint32(b, uint32(uint64(t)))
	}
	if st.Start != 0 {
		body = appendOption(body, isbStartTime, tsopt(st.Start))
	}
	body = appendOption(body, isbEndTime, tsopt(st.End))
	body = appendOption(body, isbIfRecv, u64(st.Received))
	body = appendOption(body, isbIfDrop, u64(st.Dropped))
	body = appendOption(body, isbUsrDeliv, u64(pw.packets))
	body = appendOption(body, optEnd, nil)
	pw.block(blockISB, body)
	return pw.err
}

// Create creates (or truncates) the file at path and starts a pcapng
// capture in it, for -w FILE. Close flushes and closes the file.
func Create(path, appName string, iface Interface) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("pcapngw: %w", err)
	}
	w, err := NewWriter(f, appName, iface)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("pcapngw: %s: %w", path, err)
	}
	w.file = f
	return w, nil
}

// Close flushes the buffered blocks and, for a Writer made by Create,
// closes the file. The first error met while writing is returned.
func (pw *Writer) Close() error {
	err := pw.Flush()
	if pw.file != nil {
		if cerr := pw.file.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("pcapngw: %w", cerr)
		}
		pw.file = nil
	}
	return err
}

// Packets returns how many packets were written.
func (pw *Writer) Packets() uint64 { return pw.packets }

// Flush writes buffered blocks to the underlying writer.
func (pw *Writer) Flush() error {
	if pw.err != nil {
		return pw.err
	}
	if err := pw.w.Flush(); err != nil {
		pw.err = fmt.Errorf("pcapngw: %w", err)
	}
	return pw.err
}

// block writes one block: type, total length, body (already padded to 4
// bytes), total length again.
func (pw *Writer) block(typ uint32, body []byte) {
	if pw.err != nil {
		return
	}
	if len(body)%4 != 0 {
		pw.err = errors.New("pcapngw: internal error: unpadded block")
		return
	}
	hdr := pw.hdr[:]
	total := uint32(12 + len(body))
	binary.NativeEndian.PutUint32(hdr[0:], typ)
	binary.NativeEndian.PutUint32(hdr[4:], total)
	pw.write(hdr)
	pw.write(body)
	pw.write(hdr[4:8])
}

func (pw *Writer) write(b []byte) {
	if pw.err != nil {
		return
	}
	if _, err := pw.w.Write(b); err != nil {
		pw.err = fmt.Errorf("pcapngw: %w", err)
	}
}

func appendOption(b []byte, code uint16, value []byte) []byte {
	b = binary.NativeEndian.AppendUint16(b, code)
	b = binary.NativeEndian.AppendUint16(b, uint16(len(value)))
	b = append(b, value...)
	return pad4(b)
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
