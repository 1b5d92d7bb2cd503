package capture

import "strconv"

// Link types that other systems wrote for raw IP before LINKTYPE_RAW (101)
// existed: DLT_RAW is 12 on OpenBSD and 14 on BSD/OS. Wireshark reads both as
// raw IP, and so does the Decoder.
const (
	LinkTypeRawDLT12 LinkType = 12
	LinkTypeRawDLT14 LinkType = 14
)

// String names the link type the way the tcpdump.org registry does
// (without the LINKTYPE_ prefix), or "linktype_N" for others.
func (l LinkType) String() string {
	switch l {
	case LinkTypeNull:
		return "null"
	case LinkTypeEthernet:
		return "ethernet"
	case LinkTypeRaw, LinkTypeRawDLT12, LinkTypeRawDLT14:
		return "raw"
	case LinkTypeLoop:
		return "loop"
	case LinkTypeLinuxSLL:
		return "linux_sll"
	case LinkTypeIPv4:
		return "ipv4"
	case LinkTypeIPv6:
		return "ipv6"
	case LinkTypeLinuxSLL2:
		return "linux_sll2"
	}
	return "linktype_" + strconv.Itoa(int(l))
}

// Supported reports whether the Decoder understands this link type.
func (l LinkType) Supported() bool {
	switch l {
	case LinkTypeNull, LinkTypeEthernet, LinkTypeRaw, LinkTypeRawDLT12, LinkTypeRawDLT14,
		LinkTypeLoop, LinkTypeLinuxSLL, LinkTypeIPv4, LinkTypeIPv6, LinkTypeLinuxSLL2:
		return true
	}
	return false
}
