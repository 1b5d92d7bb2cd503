// Package bpf compiles tcpdump-syntax capture filters into classic BPF
// programs and runs them in user space.
//
// # What a BPF filter is
//
// The kernel can run a small program on every frame a packet socket would
// receive and drop the frames it rejects before they are copied to user
// space: that is what makes `tcpdump port 80` cheap on a busy interface.
// The program is classic BPF (Berkeley Packet Filter, McCanne and Jacobson
// 1993): an accumulator A, an index register X, sixteen scratch words and
// forward-only jumps, so every program terminates. Each instruction is a
// (opcode, jt, jf, k) quadruple — RawInstruction here, struct sock_filter in
// the kernel — and a program ends in `ret #n`: n == 0 drops the frame,
// any other n keeps its first n bytes (the snap length). A program is
// attached to a socket with setsockopt(SO_ATTACH_FILTER).
//
// The filter sees the frame from its link-layer header on, so the same
// expression compiles differently per link type: on Ethernet the EtherType
// is at offset 12 and IPv4 starts at 14; Linux cooked captures (SLL, SLL2)
// and raw IP put them elsewhere. Compile therefore takes the link type.
//
// # Where programs come from
//
// Compile uses tcpdump when it is installed (`tcpdump -ddd -y LINKTYPE
// expr` prints libpcap's compiled program as decimal quadruples; ParseDDD
// reads that form, which is also what --bpf-file takes). Without tcpdump,
// CompileBuiltin handles the common forms — host, net, port, portrange,
// tcp, udp, icmp, ip, ip6, vlan, and/or/not — with libpcap's semantics,
// including its surprises: and/or have equal precedence; `port` also
// matches SCTP and only first IPv4 fragments; `host` on an IPv4 address
// also matches ARP; `vlan` shifts every later offset by four bytes. A test
// runs both compilers' programs over synthetic frames and requires the same
// decision for every frame. Disassemble prints a program exactly as
// `tcpdump -d` does, for reading and comparing programs while debugging.
//
// # Running programs in user space
//
// Run interprets a program on a frame exactly as the kernel would (a load
// beyond the frame rejects it). connscope checks every captured frame again
// with Run, so a filter the kernel could not take — or one that saw the
// frame differently, such as a VLAN tag the NIC stripped before the kernel
// filter ran — costs CPU, never correctness. Run never panics: malformed
// programs reject; Validate says why they are malformed.
package bpf
