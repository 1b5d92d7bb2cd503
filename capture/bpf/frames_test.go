package bpf

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/connscope/connscope/capture"
)

// testFrame is a synthetic frame with a description for failure messages.
type testFrame struct {
	desc string
	data []byte
}

// l4 describes the transport part of a synthetic packet.
type l4 struct {
	proto            uint8 // 6, 17, 132, 1, 58
	srcPort, dstPort uint16
}

// ipPacket builds an IPv4 or IPv6 packet (no link layer). ihl is the IPv4
// header length in 32-bit words (5 without options); fragOffset marks a
// non-first IPv4 fragment; v6frag puts an IPv6 fragment header in front of
// the transport header.
func ipPacket(src, dst netip.Addr, t l4, ihl int, fragOffset uint16, v6frag bool) []byte {
	transport := make([]byte, 20)
	switch t.proto {
	case 6, 17, 132:
		binary.BigEndian.PutUint16(transport[0:], t.srcPort)
		binary.BigEndian.PutUint16(transport[2:], t.dstPort)
	default:
		transport[0] = 8 // ICMP echo request
	}
	if src.Is4() {
		h := make([]byte, 4*ihl)
		h[0] = 0x40 | byte(ihl)
		binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(transport)))
		binary.BigEndian.PutUint16(h[6:], fragOffset)
		h[8] = 64
		h[9] = t.proto
		copy(h[12:], src.AsSlice())
		copy(h[16:], dst.AsSlice())
		return append(h, transport...)
	}
	h := make([]byte, 40)
	h[0] = 0x60
	next := t.proto
	var ext []byte
	if v6frag {
		ext = make([]byte, 8)
		ext[0] = t.proto
		next = 44
	}
	binary.BigEndian.PutUint16(h[4:], uint16(len(ext)+len(transport)))
	h[6] = next
	h[7] = 64
	copy(h[8:], src.AsSlice())
	copy(h[24:], dst.AsSlice())
	return append(append(h, ext...), transport...)
}

// arpPacket builds an ARP request (no link layer).
func arpPacket(sender, target netip.Addr) []byte {
	b := make([]byte, 28)
	binary.BigEndian.PutUint16(b[0:], 1)
	binary.BigEndian.PutUint16(b[2:], 0x0800)
	b[4], b[5] = 6, 4
	binary.BigEndian.PutUint16(b[6:], 1)
	copy(b[14:], sender.AsSlice())
	copy(b[24:], target.AsSlice())
	return b
}

// frame wraps a network-layer packet in the link layer of lt; vlans are
// 802.1Q tags (outermost first), only for Ethernet.
func frame(lt capture.LinkType, etherType uint16, payload []byte, vlans ...uint16) []byte {
	var b []byte
	switch lt {
	case capture.LinkTypeEthernet:
		b = make([]byte, 12, 64)
		copy(b, []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11})
		for _, v := range vlans {
			b = binary.BigEndian.AppendUint16(b, 0x8100)
			b = binary.BigEndian.AppendUint16(b, v)
		}
		b = binary.BigEndian.AppendUint16(b, etherType)
	case capture.LinkTypeLinuxSLL:
		b = make([]byte, 14, 64)
		binary.BigEndian.PutUint16(b[2:], 1) // ARPHRD_ETHER
		binary.BigEndian.PutUint16(b[4:], 6)
		b = binary.BigEndian.AppendUint16(b, etherType)
	case capture.LinkTypeLinuxSLL2:
		b = make([]byte, 20, 64)
		binary.BigEndian.PutUint16(b[0:], etherType)
		binary.BigEndian.PutUint32(b[4:], 2) // interface index
		binary.BigEndian.PutUint16(b[8:], 1) // ARPHRD_ETHER
		b[11] = 6                            // address length
	case capture.LinkTypeRaw:
	}
	return append(b, payload...)
}

// syntheticFrames builds a few hundred frames for lt: IPv4 and IPv6, TCP,
// UDP, SCTP, ICMP, with and without IPv4 options, fragments, IPv6 fragment
// headers, ARP, VLAN tags (Ethernet), and truncated frames.
func syntheticFrames(lt capture.LinkType) []testFrame {
	v4 := []netip.Addr{
		netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.1.2.3"),
		netip.MustParseAddr("192.168.1.20"), netip.MustParseAddr("8.8.8.8"),
	}
	v6 := []netip.Addr{
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:1::53"),
		netip.MustParseAddr("fe80::1"), netip.MustParseAddr("::1"),
	}
	transports := []l4{
		{6, 40000, 80}, {6, 80, 40000}, {6, 443, 8080}, {17, 5353, 53}, {17, 53, 1024},
		{132, 80, 9}, {1, 0, 0}, {58, 0, 0}, {6, 1, 100}, {6, 101, 65535}, {17, 0, 22}, {6, 1050, 2000}, {17, 443, 1},
	}
	var out []testFrame
	add := func(desc string, data []byte) { out = append(out, testFrame{desc, data}) }
	vlanSets := [][]uint16{nil}
	if lt == capture.LinkTypeEthernet {
		vlanSets = append(vlanSets, []uint16{5}, []uint16{7}, []uint16{5, 7})
	}
	for _, vlans := range vlanSets {
		for i, src := range v4 {
			dst := v4[(i+1)%len(v4)]
			for _, t := range transports {
				if t.proto == 58 {
					continue
				}
				add(fmt.Sprintf("ipv4 %s>%s %v vlan%v", src, dst, t, vlans), frame(lt, 0x0800, ipPacket(src, dst, t, 5, 0, false), vlans...))
			}
			tcp := l4{6, 1234, 80}
			add(fmt.Sprintf("ipv4 options %s>%s vlan%v", src, dst, vlans), frame(lt, 0x0800, ipPacket(src, dst, tcp, 7, 0, false), vlans...))
			add(fmt.Sprintf("ipv4 later fragment %s>%s vlan%v", src, dst, vlans), frame(lt, 0x0800, ipPacket(src, dst, tcp, 5, 100, false), vlans...))
			add(fmt.Sprintf("ipv4 first fragment MF %s>%s vlan%v", src, dst, vlans), frame(lt, 0x0800, ipPacket(src, dst, tcp, 5, 0x2000, false), vlans...))
			add(fmt.Sprintf("arp %s>%s vlan%v", src, dst, vlans), frame(lt, 0x0806, arpPacket(src, dst), vlans...))
		}
		for i, src := range v6 {
			dst := v6[(i+1)%len(v6)]
			for _, t := range transports {
				if t.proto == 1 {
					continue
				}
				add(fmt.Sprintf("ipv6 %s>%s %v vlan%v", src, dst, t, vlans), frame(lt, 0x86dd, ipPacket(src, dst, t, 0, 0, false), vlans...))
				add(fmt.Sprintf("ipv6 frag %s>%s %v vlan%v", src, dst, t, vlans), frame(lt, 0x86dd, ipPacket(src, dst, t, 0, 0, true), vlans...))
			}
		}
	}
	// Truncated frames: loads past the end must reject, as in the kernel.
	full := frame(lt, 0x0800, ipPacket(v4[0], v4[1], l4{6, 1234, 80}, 5, 0, false))
	for _, n := range []int{0, 1, 13, 14, 20, 30, 34, 36} {
		if n < len(full) {
			add(fmt.Sprintf("ipv4 tcp truncated to %d", n), full[:n])
		}
	}
	full6 := frame(lt, 0x86dd, ipPacket(v6[0], v6[1], l4{6, 1234, 80}, 0, 0, false))
	for _, n := range []int{20, 40, 54, 56} {
		if n < len(full6) {
			add(fmt.Sprintf("ipv6 tcp truncated to %d", n), full6[:n])
		}
	}
	return out
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
