package bpf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// EtherTypes and IP protocol numbers the primitives test.
const (
	etherIPv4 = 0x0800
	etherARP  = 0x0806
	etherRARP = 0x8035
	etherIPv6 = 0x86dd

	protoICMP     = 1
	protoTCP      = 6
	protoUDP      = 17
	protoIPv6Frag = 44
	protoICMPv6   = 58
	protoSCTP     = 132
)

// etherType tests the link-layer protocol; on raw IP it tests the IP
// version nibble instead, and anything but IPv4 and IPv6 is false there.
func (p *parser) etherType(t uint32) pred {
	if p.layout.etherType < 0 {
		switch t {
		case etherIPv4:
			return atom{size: sizeB, off: 0, mask: 0xf0, op: jmpJEQ, k: 0x40}
		case etherIPv6:
			return atom{size: sizeB, off: 0, mask: 0xf0, op: jmpJEQ, k: 0x60}
		}
		return predConst(false)
	}
	return atom{size: sizeH, off: uint32(p.layout.etherType), op: jmpJEQ, k: t}
}

func (p *parser) net() uint32 { return uint32(p.layout.network) }

// ipv4Proto is "ip proto N".
func (p *parser) ipv4Proto(n uint32) pred {
	return and(p.etherType(etherIPv4), atom{size: sizeB, off: p.net() + 9, op: jmpJEQ, k: n})
}

// ipv6NextHeader is "ip6 proto N" as libpcap compiles it: the first next
// header, or the one behind a fragment header.
func (p *parser) ipv6NextHeader(n uint32) pred {
	nh := atom{size: sizeB, off: p.net() + 6, op: jmpJEQ}
	direct, frag := nh, nh
	direct.k, frag.k = n, protoIPv6Frag
	behindFrag := atom{size: sizeB, off: p.net() + 40, op: jmpJEQ, k: n}
	return and(p.etherType(etherIPv6), or(direct, and(frag, behindFrag)))
}

// protoAlone compiles a protocol keyword on its own ("tcp", "ip6").
func (p *parser) protoAlone(proto string) (pred, error) {
	switch proto {
	case "ip":
		return p.etherType(etherIPv4), nil
	case "ip6":
		return p.etherType(etherIPv6), nil
	case "arp":
		return p.etherType(etherARP), nil
	case "icmp":
		return p.ipv4Proto(protoICMP), nil
	case "icmp6":
		return p.ipv6NextHeader(protoICMPv6), nil
	case "tcp", "udp", "sctp":
		n := transportNumber(proto)
		return or(p.ipv6NextHeader(n), p.ipv4Proto(n)), nil
	}
	return nil, fmt.Errorf("%q: %w", proto, ErrUnsupported)
}

func transportNumber(proto string) uint32 {
	switch proto {
	case "tcp":
		return protoTCP
	case "udp":
		return protoUDP
	}
	return protoSCTP
}

// qualified compiles "[proto] [dir] [kind] id".
func (p *parser) qualified(q qualifiers, id string) (pred, error) {
	kind := q.kind
	if kind == "" {
		kind = "host"
	}
	switch kind {
	case "host", "net":
		if q.proto == "tcp" || q.proto == "udp" || q.proto == "sctp" {
			return nil, fmt.Errorf("'%s' modifier applied to %s", q.proto, kind)
		}
		prefix, err := parseNet(id, kind == "host")
		if err != nil {
			return nil, err
		}
		if p.peek() == "mask" {
			if kind != "net" || !prefix.Addr().Is4() || strings.Contains(id, "/") {
				return nil, errors.New("mask applies only to an IPv4 net without /len")
			}
			p.next()
			if p.peek() == "" {
				return nil, errors.New("missing mask")
			}
			m, err := netip.ParseAddr(p.next().text)
			if err != nil || !m.Is4() {
				return nil, fmt.Errorf("bad mask: %w", ErrUnsupported)
			}
			return p.ipv4Net(q, prefix.Addr(), binary.BigEndian.Uint32(m.AsSlice()))
		}
		if prefix.Addr().Is4() {
			if q.proto == "ip6" {
				return nil, errors.New("IPv4 address with ip6 qualifier")
			}
			return p.ipv4Net(q, prefix.Addr(), prefixMask32(prefix.Bits()))
		}
		if q.proto == "ip" {
			return nil, errors.New("IPv6 address with ip qualifier")
		}
		return p.ipv6Net(q, prefix)
	case "port", "portrange":
		if q.proto == "ip" || q.proto == "ip6" {
			return nil, fmt.Errorf("%q %s: %w", q.proto, kind, ErrUnsupported)
		}
		lo, hi, tcpOnly, err := parsePorts(id, kind == "portrange")
		if err != nil {
			return nil, err
		}
		if tcpOnly && q.proto == "" {
			q.proto = "tcp"
		}
		return p.ports(q, lo, hi), nil
	}
	return nil, fmt.Errorf("%q: %w", kind, ErrUnsupported)
}

func prefixMask32(bits int) uint32 {
	if bits <= 0 {
		return 0
	}
	return ^uint32(0) << (32 - bits)
}

// directional combines the source and destination tests per direction.
func directional(dir direction, src, dst pred) pred {
	switch dir {
	case dirSrc:
		return src
	case dirDst:
		return dst
	case dirSrcAndDst:
		return and(src, dst)
	}
	return or(src, dst)
}

func word(off, mask, value uint32) atom {
	if mask == 0xffffffff {
		mask = 0
	}
	return atom{size: sizeW, off: off, mask: mask, op: jmpJEQ, k: value & maskOrAll(mask)}
}

func maskOrAll(m uint32) uint32 {
	if m == 0 {
		return 0xffffffff
	}
	return m
}

// ipv4Net tests IPv4 source/destination addresses, and (without an ip
// qualifier) ARP and RARP sender/target addresses, as libpcap does.
func (p *parser) ipv4Net(q qualifiers, addr netip.Addr, mask uint32) (pred, error) {
	a := binary.BigEndian.Uint32(addr.AsSlice())
	if a&^mask != 0 {
		return nil, fmt.Errorf("non-network bits set in %s", addr)
	}
	cmp := func(off uint32) pred {
		if mask == 0 {
			// (A & 0) == 0 always holds; libpcap's optimizer drops
			// the load too, so truncated frames match.
			return predConst(true)
		}
		return word(off, mask, a)
	}
	n := p.net()
	ip := and(p.etherType(etherIPv4), directional(q.dir, cmp(n+12), cmp(n+16)))
	if q.proto == "ip" {
		return ip, nil
	}
	arp := and(or(p.etherType(etherARP), p.etherType(etherRARP)), directional(q.dir, cmp(n+14), cmp(n+24)))
	return or(ip, arp), nil
}

// ipv6Net tests IPv6 source/destination addresses word by word.
func (p *parser) ipv6Net(q qualifiers, prefix netip.Prefix) (pred, error) {
	if prefix.Masked() != prefix {
		return nil, fmt.Errorf("non-network bits set in %s", prefix)
	}
	b := prefix.Addr().As16()
	cmp := func(off uint32) pred {
		var parts []pred
		for w := 0; w < 4; w++ {
			bits := prefix.Bits() - 32*w
			if bits <= 0 {
				break
			}
			if bits > 32 {
				bits = 32
			}
			parts = append(parts, word(off+uint32(4*w), prefixMask32(bits), binary.BigEndian.Uint32(b[4*w:])))
		}
		return and(parts...) // ::/0: no parts, always true
	}
	n := p.net()
	return and(p.etherType(etherIPv6), directional(q.dir, cmp(n+8), cmp(n+24))), nil
}

// ports tests TCP/UDP/SCTP ports over IPv6 (at the fixed header's end, no
// extension headers walked) and IPv4 (first fragments only, after the
// variable-length header), exactly as libpcap does.
func (p *parser) ports(q qualifiers, lo, hi uint32) pred {
	protos := []uint32{protoSCTP, protoTCP, protoUDP}
	if q.proto != "" {
		protos = []uint32{transportNumber(q.proto)}
	}
	inRange := func(a atom) pred {
		if lo == hi {
			a.op, a.k = jmpJEQ, lo
			return a
		}
		ge, gt := a, a
		ge.op, ge.k = jmpJGE, lo
		gt.op, gt.k = jmpJGT, hi
		return and(ge, predNot{gt})
	}
	n := p.net()

	var v6protos, v4protos []pred
	for _, pr := range protos {
		v6protos = append(v6protos, atom{size: sizeB, off: n + 6, op: jmpJEQ, k: pr})
		v4protos = append(v4protos, atom{size: sizeB, off: n + 9, op: jmpJEQ, k: pr})
	}
	v6 := and(p.etherType(etherIPv6), or(v6protos...), directional(q.dir,
		inRange(atom{size: sizeH, off: n + 40}),
		inRange(atom{size: sizeH, off: n + 42})))
	notFragment := predNot{atom{size: sizeH, off: n + 6, op: jmpJSET, k: 0x1fff}}
	v4 := and(p.etherType(etherIPv4), or(v4protos...), notFragment, directional(q.dir,
		inRange(atom{size: sizeH, off: n, indirect: true, ihlOff: n}),
		inRange(atom{size: sizeH, off: n + 2, indirect: true, ihlOff: n})))
	return or(v6, v4)
}

// parseNet reads an address, a CIDR prefix, or (for net) a dotted IPv4
// prefix such as "10" or "192.168".
func parseNet(id string, host bool) (netip.Prefix, error) {
	if strings.Contains(id, "/") {
		if host {
			return netip.Prefix{}, fmt.Errorf("host %q: a host takes no /len", id)
		}
		pfx, err := netip.ParsePrefix(id)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad network %q", id)
		}
		return pfx, nil
	}
	if a, err := netip.ParseAddr(id); err == nil {
		if a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("address %q with a zone", id)
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	if !host {
		parts := strings.Split(id, ".")
		if len(parts) <= 3 {
			var b [4]byte
			ok := true
			for i, s := range parts {
				n, err := strconv.ParseUint(s, 10, 8)
				if err != nil {
					ok = false
					break
				}
				b[i] = byte(n)
			}
			if ok {
				return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("%q is not an IP address (host names are not resolved): %w", id, ErrUnsupported)
}

// wellKnownPort is a service name the built-in compiler knows; tcpdump
// reads /etc/services for the rest. A name listed there for TCP only
// restricts "port NAME" to TCP, as in libpcap.
type wellKnownPort struct {
	port    uint32
	tcpOnly bool
}

var wellKnownPorts = map[string]wellKnownPort{
	"ftp-data": {20, true}, "ftp": {21, true}, "ssh": {22, true}, "telnet": {23, true},
	"smtp": {25, true}, "domain": {53, false}, "http": {80, true}, "www": {80, true},
	"pop3": {110, true}, "https": {443, false}, "imaps": {993, true}, "http-alt": {8080, true},
}

// parsePort reads a port number or name; tcpOnly reports a name that is
// registered for TCP only.
func parsePort(s string) (port uint32, tcpOnly bool, err error) {
	if w, ok := wellKnownPorts[strings.ToLower(s)]; ok {
		return w.port, w.tcpOnly, nil
	}
	n, err := parseNumber(s, 65535)
	if err != nil {
		return 0, false, fmt.Errorf("port %q: %w", s, err)
	}
	return n, false, nil
}

func parsePorts(id string, isRange bool) (lo, hi uint32, tcpOnly bool, err error) {
	if !isRange {
		n, tcp, err := parsePort(id)
		return n, n, tcp, err
	}
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, false, fmt.Errorf("port range %q: want LOW-HIGH", id)
	}
	lo, tcpLo, err := parsePort(a)
	if err != nil {
		return 0, 0, false, err
	}
	hi, tcpHi, err := parsePort(b)
	if err != nil {
		return 0, 0, false, err
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, tcpLo || tcpHi, nil
}

// parseNumber reads a decimal, 0x-hex or 0-octal number, as libpcap does.
func parseNumber(s string, max uint32) (uint32, error) {
	if s == "" {
		return 0, errors.New("missing number")
	}
	n, err := strconv.ParseUint(s, 0, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n > uint64(max) {
		return 0, fmt.Errorf("%d is larger than %d", n, max)
	}
	return uint32(n), nil
}
