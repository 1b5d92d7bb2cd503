package reassembly

import (
	"encoding/binary"
	"net/netip"
)

// connKey identifies a 4-tuple regardless of direction: the two endpoints
// (each a netip.AddrPort, flattened to 16 address bytes and a port) are
// stored in a canonical order, lower first, so A→B and B→A produce the same
// key and the same hash. It holds no pointers, so it keys a Go map cheaply,
// without allocation and without work for the garbage collector. IPv4
// addresses are stored in their IPv4-mapped IPv6 form; IPv6 zones are
// dropped (a capture's addresses carry none).
//
// The VLAN tag is deliberately not part of it: some networks tag only one
// direction of a connection (a SPAN port behind a trunk), and tshark, like
// connscope, treats both directions as one connection.
type connKey struct {
	loAddr, hiAddr [16]byte
	loPort, hiPort uint16
}

// makeKey returns the symmetric key of the segment's endpoints.
func makeKey(a, b netip.AddrPort) connKey {
	aa, ba := a.Addr().As16(), b.Addr().As16()
	ap, bp := a.Port(), b.Port()
	if lessEndpoint(ba, bp, aa, ap) {
		aa, ap, ba, bp = ba, bp, aa, ap
	}
	return connKey{loAddr: aa, hiAddr: ba, loPort: ap, hiPort: bp}
}

func lessEndpoint(a [16]byte, ap uint16, b [16]byte, bp uint16) bool {
	ah, bh := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8])
	if ah != bh {
		return ah < bh
	}
	al, bl := binary.BigEndian.Uint64(a[8:]), binary.BigEndian.Uint64(b[8:])
	if al != bl {
		return al < bl
	}
	return ap < bp
}

// isLo reports whether ep is the key's lower endpoint.
func (k connKey) isLo(ep netip.AddrPort) bool {
	return ep.Addr().As16() == k.loAddr && ep.Port() == k.loPort
}

// hash returns a 64-bit hash of the key, symmetric like the key itself:
// multiply-xorshift rounds over the address words and the ports.
func (k connKey) hash() uint64 {
	h := (uint64(k.loPort)<<16 | uint64(k.hiPort)) ^ 0x9E3779B97F4A7C15
	for _, w := range [4]uint64{
		binary.LittleEndian.Uint64(k.loAddr[:8]), binary.LittleEndian.Uint64(k.loAddr[8:]),
		binary.LittleEndian.Uint64(k.hiAddr[:8]), binary.LittleEndian.Uint64(k.hiAddr[8:]),
	} {
		h = (h ^ w) * 0xBF58476D1CE4E5B9
		h ^= h >> 31
	}
	h *= 0x94D049BB133111EB
	return h ^ h>>29
}
