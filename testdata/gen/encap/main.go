// Command encap rewrites the Ethernet II frames of a classic pcap that carry
// IPv4 or IPv6 into another encapsulation, leaving the IP packets, the
// timestamps and every other frame (ARP) as they were. It is how connscope
// gets captures of real traffic in the encapsulations the capture machine
// cannot produce (its kernel has no MPLS or PPPoE, and Linux sends no IP in
// LLC/SNAP), to check the decoder against tshark on whole conversations.
//
//	encap MODE IN.pcap OUT.pcap
//
// MODE is one of:
//
//	llc-snap  IEEE 802.3: a length field instead of the EtherType, then LLC
//	          (DSAP and SSAP 0xAA, unnumbered information 0x03) and SNAP
//	          (organisation 00-00-00, the EtherType), as RFC 1042 sends IP.
//	          Every IP packet must fit the 1492 bytes 802.3 leaves it.
//	mpls      EtherType 0x8847 and an MPLS label stack: two labels (16001,
//	          24005) on packets from the client (the source of the first IP
//	          packet), one (24010) on packets to it.
//	pppoe     EtherType 0x8864, a PPPoE session header (session 0x0001) and
//	          PPP protocol 0x0021 (IPv4) or 0x0057 (IPv6).
//
// Ethernet padding after the IP packet stays after it, outside the new
// headers' lengths. Each record's captured and original lengths grow by the
// bytes added.
package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("encap: ")
	if len(os.Args) != 4 {
		log.Fatal("usage: encap llc-snap|mpls|pppoe IN.pcap OUT.pcap")
	}
	in, err := os.ReadFile(os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	out, err := rewrite(os.Args[1], in)
	if err != nil {
		log.Fatalf("%s: %v", os.Args[2], err)
	}
	if err := os.WriteFile(os.Args[3], out, 0o644); err != nil {
		log.Fatal(err)
	}
}

const (
	fileHeaderLen   = 24
	recordHeaderLen = 16
	ethHeaderLen    = 14
	linkEthernet    = 1
	etherIPv4       = 0x0800
	etherIPv6       = 0x86dd
	maxLLCPayload   = 1500 - 8 // an 802.3 length is at most 1500; LLC and SNAP take 8
)

// rewrite returns the capture with every IP frame in the new encapsulation.
func rewrite(mode string, data []byte) ([]byte, error) {
	wrap, ok := wrappers[mode]
	if !ok {
		return nil, fmt.Errorf("unknown mode %q (llc-snap, mpls or pppoe)", mode)
	}
	if len(data) < fileHeaderLen {
		return nil, errors.New("shorter than a pcap file header (24 bytes)")
	}
	var order binary.ByteOrder
	switch {
	case binary.LittleEndian.Uint32(data) == 0xa1b2c3d4 || binary.LittleEndian.Uint32(data) == 0xa1b23c4d:
		order = binary.LittleEndian
	case binary.BigEndian.Uint32(data) == 0xa1b2c3d4 || binary.BigEndian.Uint32(data) == 0xa1b23c4d:
		order = binary.BigEndian
	default:
		return nil, fmt.Errorf("not a classic pcap file (magic %x)", data[:4])
	}
	if lt := order.Uint32(data[20:]) & 0xffff; lt != linkEthernet {
		return nil, fmt.Errorf("link type %d, not Ethernet", lt)
	}
	var out bytes.Buffer
	out.Write(data[:fileHeaderLen])
	var client []byte // source address of the first IP packet
	for off, frame := fileHeaderLen, 1; off < len(data); frame++ {
		if len(data)-off < recordHeaderLen {
			return nil, fmt.Errorf("frame %d: %w", frame, io.ErrUnexpectedEOF)
		}
		hdr := append([]byte(nil), data[off:off+recordHeaderLen]...)
		incl, orig := order.Uint32(hdr[8:]), order.Uint32(hdr[12:])
		off += recordHeaderLen
		if int(incl) > len(data)-off {
			return nil, fmt.Errorf("frame %d: record of %d bytes runs past the end", frame, incl)
		}
		pkt := data[off : off+int(incl)]
		off += int(incl)
		newPkt := pkt
		if eth, ip, pad, ok := splitIP(pkt); ok {
			src := sourceOf(ip)
			if client == nil {
				client = src
			}
			var err error
			newPkt, err = wrap(eth, ip, pad, bytes.Equal(src, client))
			if err != nil {
				return nil, fmt.Errorf("frame %d: %w", frame, err)
			}
		}
		grown := uint32(len(newPkt) - len(pkt))
		order.PutUint32(hdr[8:], incl+grown)
		order.PutUint32(hdr[12:], orig+grown)
		out.Write(hdr)
		out.Write(newPkt)
	}
	return out.Bytes(), nil
}

// splitIP splits an untagged Ethernet II frame carrying IP, captured whole,
// into its addresses (12 bytes), the IP packet (as long as its header says)
// and the padding after it.
func splitIP(pkt []byte) (addrs, ip, pad []byte, ok bool) {
	if len(pkt) < ethHeaderLen+1 {
		return nil, nil, nil, false
	}
	et := binary.BigEndian.Uint16(pkt[12:])
	rest := pkt[ethHeaderLen:]
	var n int
	switch {
	case et == etherIPv4 && len(rest) >= 20:
		n = int(binary.BigEndian.Uint16(rest[2:]))
	case et == etherIPv6 && len(rest) >= 40:
		n = 40 + int(binary.BigEndian.Uint16(rest[4:]))
	default:
		return nil, nil, nil, false
	}
	if n > len(rest) {
		return nil, nil, nil, false
	}
	return pkt[:12], rest[:n], rest[n:], true
}

// sourceOf returns the source address of an IP packet.
func sourceOf(ip []byte) []byte {
	if ip[0]>>4 == 6 {
		return ip[8:24]
	}
	return ip[12:16]
}

type wrapper func(addrs, ip, pad []byte, fromClient bool) ([]byte, error)

var wrappers = map[string]wrapper{
	"llc-snap": func(addrs, ip, pad []byte, _ bool) ([]byte, error) {
		if len(ip) > maxLLCPayload {
			return nil, fmt.Errorf("IP packet of %d bytes does not fit an 802.3 frame with LLC/SNAP (%d)", len(ip), maxLLCPayload)
		}
		b := append([]byte(nil), addrs...)
		b = binary.BigEndian.AppendUint16(b, uint16(8+len(ip)))
		b = append(b, 0xaa, 0xaa, 0x03, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, etherTypeOf(ip))
		return append(append(b, ip...), pad...), nil
	},
	"mpls": func(addrs, ip, pad []byte, fromClient bool) ([]byte, error) {
		labels := []uint32{24010}
		if fromClient {
			labels = []uint32{16001, 24005}
		}
		b := binary.BigEndian.AppendUint16(append([]byte(nil), addrs...), 0x8847)
		for i, l := range labels {
			entry := l<<12 | 64 // TTL 64
			if i == len(labels)-1 {
				entry |= 1 << 8 // bottom of stack
			}
			b = binary.BigEndian.AppendUint32(b, entry)
		}
		return append(append(b, ip...), pad...), nil
	},
	"pppoe": func(addrs, ip, pad []byte, _ bool) ([]byte, error) {
		proto := uint16(0x0021)
		if etherTypeOf(ip) == etherIPv6 {
			proto = 0x0057
		}
		b := binary.BigEndian.AppendUint16(append([]byte(nil), addrs...), 0x8864)
		b = append(b, 0x11, 0x00, 0x00, 0x01) // version 1, type 1, code 0 (session), session 1
		b = binary.BigEndian.AppendUint16(b, uint16(2+len(ip)))
		b = binary.BigEndian.AppendUint16(b, proto)
		return append(append(b, ip...), pad...), nil
	},
}

func etherTypeOf(ip []byte) uint16 {
	if ip[0]>>4 == 6 {
		return etherIPv6
	}
	return etherIPv4
}
