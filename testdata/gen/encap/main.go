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
//	ipip      An outer IPv4 header between the tunnel endpoints 10.77.9.1
//	          (client side) and 10.77.9.2, protocol 4 for IPv4 inside, 41
//	          for IPv6 (6in4), as Linux's ipip and sit devices send them:
//	          TTL 64, Don't Fragment set, an IP ID counting up per
//	          direction.
//	gre       The same outer IPv4 header, protocol 47, then GRE version 0
//	          with a key (42) and the EtherType of the packet inside, as
//	          Linux's gre device with "key 42" sends it.
//
// In those modes Ethernet padding after the IP packet stays after it,
// outside the new headers' lengths, and only frames carrying IP change.
//
//	vxlan     Every frame (ARP too, as traffic mirroring sends it) inside
//	          VXLAN: a new Ethernet header (02:00:00:77:09:01 and :02), IPv4
//	          between 10.77.9.1 and 10.77.9.2 (TTL 64, an IP ID counting up
//	          per direction, Don't Fragment clear), UDP from port 40001
//	          (client side) or 40002 to 4789 with its checksum (as Linux
//	          6.18 sends it), VXLAN with the I flag and VNI 42, then the
//	          frame as recorded.
//	erspan    Every frame as a switch mirrors a port with ERSPAN type II: a
//	          new Ethernet header, IPv4 from the switch (10.77.9.1) to the
//	          analyser (10.77.9.2) whatever the frame's direction (TTL 64,
//	          an IP ID counting up), GRE with a sequence number (counting
//	          from 0) and protocol 0x88BE, the 8-byte ERSPAN header
//	          (version 1, session 1, VLAN 0, untagged), then the frame as
//	          recorded.
//
// Each record's captured and original lengths grow by the bytes added.
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
		log.Fatal("usage: encap llc-snap|mpls|pppoe|ipip|gre|vxlan|erspan IN.pcap OUT.pcap")
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
	if !ok && mode != "vxlan" && mode != "erspan" {
		return nil, fmt.Errorf("unknown mode %q (llc-snap, mpls, pppoe, ipip, gre, vxlan or erspan)", mode)
	}
	t := &tunnel{}
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
	var client []byte    // source address of the first IP packet
	var clientMAC []byte // Ethernet source of the first IP packet
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
		if mode == "erspan" {
			newPkt = t.erspan(pkt)
		} else if eth, ip, pad, ok := splitIP(pkt); ok {
			src := sourceOf(ip)
			if client == nil {
				client, clientMAC = src, eth[6:12]
			}
			if mode == "vxlan" {
				newPkt = t.vxlan(pkt, bytes.Equal(src, client))
			} else {
				var err error
				if newPkt, err = wrap(t, eth, ip, pad, bytes.Equal(src, client)); err != nil {
					return nil, fmt.Errorf("frame %d: %w", frame, err)
				}
			}
		} else if mode == "vxlan" {
			// A frame without IP (ARP): its direction by its Ethernet
			// source, the client's being that of the first IP packet.
			newPkt = t.vxlan(pkt, len(pkt) >= 12 && bytes.Equal(pkt[6:12], clientMAC))
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

type wrapper func(t *tunnel, addrs, ip, pad []byte, fromClient bool) ([]byte, error)

var wrappers = map[string]wrapper{
	"llc-snap": func(_ *tunnel, addrs, ip, pad []byte, _ bool) ([]byte, error) {
		if len(ip) > maxLLCPayload {
			return nil, fmt.Errorf("IP packet of %d bytes does not fit an 802.3 frame with LLC/SNAP (%d)", len(ip), maxLLCPayload)
		}
		b := append([]byte(nil), addrs...)
		b = binary.BigEndian.AppendUint16(b, uint16(8+len(ip)))
		b = append(b, 0xaa, 0xaa, 0x03, 0, 0, 0)
		b = binary.BigEndian.AppendUint16(b, etherTypeOf(ip))
		return append(append(b, ip...), pad...), nil
	},
	"mpls": func(_ *tunnel, addrs, ip, pad []byte, fromClient bool) ([]byte, error) {
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
	"pppoe": func(_ *tunnel, addrs, ip, pad []byte, _ bool) ([]byte, error) {
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
	"ipip": func(t *tunnel, addrs, ip, pad []byte, fromClient bool) ([]byte, error) {
		proto := byte(protoIPIP)
		if etherTypeOf(ip) == etherIPv6 {
			proto = protoIPv6
		}
		b := binary.BigEndian.AppendUint16(append([]byte(nil), addrs...), etherIPv4)
		b = t.ipv4(b, fromClient, true, proto, len(ip))
		return append(append(b, ip...), pad...), nil
	},
	"gre": func(t *tunnel, addrs, ip, pad []byte, fromClient bool) ([]byte, error) {
		b := binary.BigEndian.AppendUint16(append([]byte(nil), addrs...), etherIPv4)
		b = t.ipv4(b, fromClient, true, protoGRE, greHeaderLen+len(ip))
		b = append(b, 0x20, 0x00) // K: a key follows; version 0
		b = binary.BigEndian.AppendUint16(b, etherTypeOf(ip))
		b = binary.BigEndian.AppendUint32(b, greKey)
		return append(append(b, ip...), pad...), nil
	},
}

// Tunnel numbers.
const (
	etherERSPAN  = 0x88be
	protoIPIP    = 4
	protoIPv6    = 41
	protoGRE     = 47
	protoUDP     = 17
	greHeaderLen = 8 // flags and protocol, key
	greKey       = 42
	portVXLAN    = 4789
	vxlanVNI     = 42
)

// tunnel writes the outer headers of the tunnel modes, counting IP IDs
// per direction.
type tunnel struct {
	ids [2]uint16 // next IP ID: [0] from the client side, [1] to it
	seq uint32    // next GRE sequence number (erspan)
}

// erspan returns frame mirrored in ERSPAN type II, in GRE, IPv4 and
// Ethernet, from the switch to the analyser.
func (t *tunnel) erspan(frame []byte) []byte {
	b := []byte{2, 0, 0, 0x77, 9, 2, 2, 0, 0, 0x77, 9, 1}
	b = binary.BigEndian.AppendUint16(b, etherIPv4)
	b = t.ipv4(b, true, false, protoGRE, 8+8+len(frame))
	b = append(b, 0x10, 0x00) // S: a sequence number follows; version 0
	b = binary.BigEndian.AppendUint16(b, etherERSPAN)
	b = binary.BigEndian.AppendUint32(b, t.seq)
	t.seq++
	b = append(b, 0x10, 0x00, 0x00, 0x01, 0, 0, 0, 0) // version 1, VLAN 0, session 1, index 0
	return append(b, frame...)
}

// Tunnel endpoints, beside the generator's own addresses.
var (
	endpointClient = []byte{10, 77, 9, 1}
	endpointServer = []byte{10, 77, 9, 2}
)

// ipv4 appends an IPv4 header between the tunnel endpoints for a payload
// of n bytes.
func (t *tunnel) ipv4(b []byte, fromClient, dontFragment bool, proto byte, n int) []byte {
	src, dst, dir := endpointClient, endpointServer, 0
	if !fromClient {
		src, dst, dir = endpointServer, endpointClient, 1
	}
	h := make([]byte, 20)
	h[0] = 0x45
	binary.BigEndian.PutUint16(h[2:], uint16(20+n))
	binary.BigEndian.PutUint16(h[4:], t.ids[dir])
	t.ids[dir]++
	if dontFragment {
		h[6] = 0x40
	}
	h[8], h[9] = 64, proto
	copy(h[12:], src)
	copy(h[16:], dst)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(sum))
	return append(b, h...)
}

// vxlan returns frame inside VXLAN, in UDP, IPv4 and Ethernet.
func (t *tunnel) vxlan(frame []byte, fromClient bool) []byte {
	srcMAC, dstMAC, port := []byte{2, 0, 0, 0x77, 9, 1}, []byte{2, 0, 0, 0x77, 9, 2}, uint16(40001)
	if !fromClient {
		srcMAC, dstMAC, port = dstMAC, srcMAC, 40002
	}
	b := append(append([]byte(nil), dstMAC...), srcMAC...)
	b = binary.BigEndian.AppendUint16(b, etherIPv4)
	b = t.ipv4(b, fromClient, false, protoUDP, 8+8+len(frame))
	b = binary.BigEndian.AppendUint16(b, port)
	b = binary.BigEndian.AppendUint16(b, portVXLAN)
	b = binary.BigEndian.AppendUint16(b, uint16(8+8+len(frame)))
	udp := len(b) - 6
	b = append(b, 0, 0)                      // checksum, below
	b = append(b, 0x08, 0, 0, 0, 0, 0, 0, 0) // I flag, VNI below
	binary.BigEndian.PutUint32(b[len(b)-4:], vxlanVNI<<8)
	b = append(b, frame...)
	// The UDP checksum over the pseudo-header (the addresses, protocol
	// and length) and the datagram; 0 would mean none.
	sum := uint32(protoUDP) + uint32(len(b)-udp)
	for _, part := range [][]byte{b[udp-8 : udp], b[udp:]} {
		for i := 0; i < len(part); i += 2 {
			sum += uint32(part[i]) << 8
			if i+1 < len(part) {
				sum += uint32(part[i+1])
			}
		}
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	c := ^uint16(sum)
	if c == 0 {
		c = 0xffff
	}
	binary.BigEndian.PutUint16(b[udp+6:], c)
	return b
}

func etherTypeOf(ip []byte) uint16 {
	if ip[0]>>4 == 6 {
		return etherIPv6
	}
	return etherIPv4
}
