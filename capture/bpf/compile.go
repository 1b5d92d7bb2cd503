package bpf

import (
	"errors"
	"fmt"
	"os/exec"

	"github.com/connscope/connscope/capture"
)

// DefaultSnaplen is the snap length tcpdump uses by default (262144 bytes):
// in practice the whole frame.
const DefaultSnaplen = 262144

// ErrUnsupported is wrapped by errors for expressions the built-in compiler
// does not understand; tcpdump's compiler, or a program passed as `tcpdump
// -ddd` output, handles the full syntax.
var ErrUnsupported = errors.New("not supported by the built-in filter compiler (install tcpdump, whose compiler is used when present, or pass `tcpdump -ddd` output with --bpf-file)")

// Compile compiles a tcpdump-syntax filter expression into a classic BPF
// program for frames of the given link type; accepted frames are kept up to
// snaplen bytes (0 means DefaultSnaplen).
//
// When tcpdump is installed its compiler (libpcap's) is used, so every
// expression tcpdump understands works; otherwise the built-in compiler
// handles the common forms (see CompileBuiltin). An empty expression
// accepts every frame.
func Compile(expr string, linkType capture.LinkType, snaplen int) ([]RawInstruction, error) {
	if _, err := exec.LookPath("tcpdump"); err == nil {
		return CompileTcpdump(expr, linkType, snaplen)
	}
	return CompileBuiltin(expr, linkType, snaplen)
}

// CompileBuiltin compiles with connscope's own compiler, which needs no
// external program. It understands:
//
//	host ADDR, net ADDR/LEN, net ADDR mask MASK, net 10.1 (a dotted prefix),
//	port N, portrange N-M, each optionally qualified by src, dst,
//	src or dst, src and dst, and by a protocol: ip or ip6 (host, net),
//	tcp, udp or sctp (port, portrange);
//	tcp, udp, sctp, icmp, icmp6, ip, ip6, arp, vlan [ID], less N, greater N;
//	and, or, not (also &&, ||, !) with parentheses.
//
// Semantics follow libpcap's for a capture file (a "dead" handle): and and or
// have equal precedence and group left to right; a word without qualifiers
// reuses the previous ones ("port 80 or 443"); port matches TCP, UDP and
// SCTP over IPv4 (first fragments only) and IPv6; host and net on an IPv4
// address also match ARP and RARP; `vlan` moves the offsets of everything
// after it by the 4-byte tag.
//
// Link types: Ethernet, Linux cooked v1 and v2, and raw IP.
//
// The programs are not optimized as libpcap's are, which matters only for
// frames cut short before a field the filter reads: BPF rejects a frame as
// soon as an executed load falls outside it, and libpcap's optimizer drops
// loads it proves redundant, so on such frames the decisions can differ.
func CompileBuiltin(expr string, linkType capture.LinkType, snaplen int) ([]RawInstruction, error) {
	snap, err := checkSnaplen(snaplen)
	if err != nil {
		return nil, err
	}
	lay, err := layoutFor(linkType)
	if err != nil {
		return nil, err
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, fmt.Errorf("bpf: filter %q: %w", expr, err)
	}
	p := &parser{toks: toks, layout: lay}
	tree, err := p.parse()
	if err != nil {
		return nil, fmt.Errorf("bpf: filter %q: %w", expr, err)
	}
	return assemble(tree, snap)
}

func checkSnaplen(snaplen int) (uint32, error) {
	if snaplen == 0 {
		return DefaultSnaplen, nil
	}
	if snaplen < 0 || snaplen > 1<<30 {
		return 0, fmt.Errorf("bpf: snap length %d out of range", snaplen)
	}
	return uint32(snaplen), nil
}

// layout says where a link type keeps the EtherType and the network header.
type layout struct {
	linkType capture.LinkType
	// etherType is the offset of the 2-byte EtherType (protocol) field, or
	// -1 for raw IP, where the IP version nibble tells IPv4 from IPv6.
	etherType int
	network   int
}

func layoutFor(lt capture.LinkType) (layout, error) {
	switch lt {
	case capture.LinkTypeEthernet:
		return layout{lt, 12, 14}, nil
	case capture.LinkTypeLinuxSLL:
		return layout{lt, 14, 16}, nil
	case capture.LinkTypeLinuxSLL2:
		return layout{lt, 0, 20}, nil
	case capture.LinkTypeRaw:
		return layout{lt, -1, 0}, nil
	}
	return layout{}, fmt.Errorf("bpf: link type %d: %w", lt, ErrUnsupported)
}
