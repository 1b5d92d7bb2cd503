// Command pcapswap rewrites a classic pcap file in the other byte order:
// the file header and every record header are byte-swapped, packet bytes are
// copied unchanged. tcpdump writes in the host's order (little-endian here),
// so this is how connscope gets a big-endian capture of real traffic to test
// its reader with (a reader must accept both orders and both the µs and ns
// magic numbers).
//
//	pcapswap IN.pcap OUT.pcap
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("pcapswap: ")
	if len(os.Args) != 3 {
		log.Fatal("usage: pcapswap IN.pcap OUT.pcap")
	}
	if err := swapFile(os.Args[1], os.Args[2]); err != nil {
		log.Fatal(err)
	}
}

func swapFile(inPath, outPath string) error {
	in, err := os.ReadFile(inPath)
	if err != nil {
		return err
	}
	out, err := swap(in)
	if err != nil {
		return fmt.Errorf("%s: %w", inPath, err)
	}
	return os.WriteFile(outPath, out, 0o644)
}

// Magic numbers as they read in little-endian order.
const (
	magicMicro = 0xa1b2c3d4
	magicNano  = 0xa1b23c4d
)

// swap returns data with the byte order of every header field reversed.
func swap(data []byte) ([]byte, error) {
	if len(data) < 24 {
		return nil, errors.New("shorter than a pcap file header (24 bytes)")
	}
	var from, to binary.ByteOrder
	switch binary.LittleEndian.Uint32(data) {
	case magicMicro, magicNano:
		from, to = binary.LittleEndian, binary.BigEndian
	default:
		switch binary.BigEndian.Uint32(data) {
		case magicMicro, magicNano:
			from, to = binary.BigEndian, binary.LittleEndian
		default:
			return nil, fmt.Errorf("not a classic pcap file (magic %x)", data[:4])
		}
	}
	out := make([]byte, len(data))
	copy(out, data)
	// File header: magic u32, version major u16, minor u16, thiszone i32,
	// sigfigs u32, snaplen u32, linktype u32.
	to.PutUint32(out[0:], from.Uint32(data[0:]))
	to.PutUint16(out[4:], from.Uint16(data[4:]))
	to.PutUint16(out[6:], from.Uint16(data[6:]))
	for off := 8; off < 24; off += 4 {
		to.PutUint32(out[off:], from.Uint32(data[off:]))
	}
	// Records: ts_sec, ts_frac, incl_len, orig_len (u32 each), then incl_len bytes.
	for off, frame := 24, 1; off < len(data); frame++ {
		if len(data)-off < 16 {
			return nil, fmt.Errorf("frame %d at offset %d: %w", frame, off, io.ErrUnexpectedEOF)
		}
		incl := int(from.Uint32(data[off+8:]))
		for i := 0; i < 16; i += 4 {
			to.PutUint32(out[off+i:], from.Uint32(data[off+i:]))
		}
		off += 16
		if incl > len(data)-off {
			return nil, fmt.Errorf("frame %d at offset %d: record of %d bytes runs past the end", frame, off-16, incl)
		}
		off += incl
	}
	return out, nil
}
