//go:build linux && !libpcap

package live

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Frames as the ring holds them are not always frames as they were on the
// wire; the functions here restore what the kernel took apart.

// insertVLAN puts back the 802.1Q tag the driver stripped, so the frame
// reads as it was on the wire (and as tcpdump writes it).
func (s *Source) insertVLAN(raw rawPacket) []byte {
	if len(raw.data) < 12 {
		return raw.data
	}
	tpid := uint16(0x8100)
	if raw.status&unix.TP_STATUS_VLAN_TPID_VALID != 0 && raw.vlanTPID != 0 {
		tpid = raw.vlanTPID
	}
	b := append(s.vlanBuf[:0], raw.data[:12]...)
	b = binary.BigEndian.AppendUint16(b, tpid)
	b = binary.BigEndian.AppendUint16(b, raw.vlanTCI)
	b = append(b, raw.data[12:]...)
	s.vlanBuf = b
	return b
}

// sll2HeaderLen is the size of a LINKTYPE_LINUX_SLL2 header.
const sll2HeaderLen = 20

// cook prefixes a network-layer frame from a cooked socket with the SLL2
// header libpcap writes for `-i any`: protocol, reserved, interface index,
// ARPHRD type, packet type, address length, 8 address bytes; all in
// network byte order.
func (s *Source) cook(raw rawPacket) []byte {
	b := s.cookBuf[:0]
	b = binary.BigEndian.AppendUint16(b, raw.protocol)
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint32(b, raw.ifindex)
	b = binary.BigEndian.AppendUint16(b, raw.hatype)
	b = append(b, raw.pkttype, raw.halen)
	b = append(b, raw.addr[:]...)
	b = append(b, raw.data...)
	s.cookBuf = b
	return b
}
