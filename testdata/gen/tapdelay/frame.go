package main

import "encoding/binary"

const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagACK = 0x10
)

// tcpSegment is the little the drop rules need from a frame.
type tcpSegment struct {
	flags   byte
	payload []byte
}

// parseTCP finds the TCP segment in an Ethernet frame carrying IPv4 or IPv6
// (optionally behind one 802.1Q tag). It reports false for anything else or
// anything malformed; the relay forwards such frames untouched.
func parseTCP(frame []byte) (tcpSegment, bool) {
	if len(frame) < 14 {
		return tcpSegment{}, false
	}
	etherType := binary.BigEndian.Uint16(frame[12:14])
	ip := frame[14:]
	if etherType == 0x8100 && len(ip) >= 4 {
		etherType = binary.BigEndian.Uint16(ip[2:4])
		ip = ip[4:]
	}
	var l4 []byte
	switch etherType {
	case 0x0800:
		if len(ip) < 20 || ip[9] != 6 {
			return tcpSegment{}, false
		}
		ihl := int(ip[0]&0x0f) * 4
		total := int(binary.BigEndian.Uint16(ip[2:4]))
		if ihl < 20 || total < ihl || total > len(ip) {
			return tcpSegment{}, false
		}
		l4 = ip[ihl:total]
	case 0x86dd:
		if len(ip) < 40 || ip[6] != 6 { // no extension headers on our own traffic
			return tcpSegment{}, false
		}
		plen := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+plen > len(ip) {
			return tcpSegment{}, false
		}
		l4 = ip[40 : 40+plen]
	default:
		return tcpSegment{}, false
	}
	if len(l4) < 20 {
		return tcpSegment{}, false
	}
	off := int(l4[12]>>4) * 4
	if off < 20 || off > len(l4) {
		return tcpSegment{}, false
	}
	return tcpSegment{flags: l4[13], payload: l4[off:]}, true
}
