package reassembly

import "net/netip"

// connKey identifies a 4-tuple regardless of direction: the two endpoints
// are stored in a canonical order (lower address and port first), so A→B and
// B→A produce the same key. It is comparable, so it keys a Go map without
// any allocation. The VLAN tag is deliberately not part of it: some networks
// tag only one direction of a connection (a SPAN port behind a trunk), and
// tshark, like connscope, treats both directions as one connection.
type connKey struct {
	lo, hi netip.AddrPort
}

// makeKey returns the symmetric key of the segment's endpoints.
func makeKey(a, b netip.AddrPort) connKey {
	if lessAddrPort(b, a) {
		a, b = b, a
	}
	return connKey{lo: a, hi: b}
}

// lessAddrPort orders endpoints by address, then port, cheaply.
func lessAddrPort(a, b netip.AddrPort) bool {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c < 0
	}
	return a.Port() < b.Port()
}
