package bpf

import (
	"fmt"
	"strings"
)

// parser reads a filter expression with libpcap's grammar and builds the
// predicate tree while it reads, left to right, as libpcap's yacc parser
// does; that order matters for `vlan`, which shifts the layout for every
// primitive after it.
type parser struct {
	toks   []token
	i      int
	layout layout
	// last holds the qualifiers of the previous primitive, which a bare
	// word after and/or inherits ("port 80 or 443").
	last    qualifiers
	hasLast bool
}

// qualifiers are the keywords in front of an identifier: protocol,
// direction and type, as in "tcp src port 80".
type qualifiers struct {
	proto string // "", ip, ip6, tcp, udp, sctp
	dir   direction
	kind  string // "", host, net, port, portrange
}

type direction uint8

const (
	dirSrcOrDst direction = iota
	dirSrc
	dirDst
	dirSrcAndDst
)

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i].text
	}
	return ""
}

func (p *parser) peekAt(n int) string {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n].text
	}
	return ""
}

func (p *parser) next() token {
	t := p.toks[p.i]
	p.i++
	return t
}

func (p *parser) errorf(format string, args ...any) error {
	where := "at the end"
	if p.i < len(p.toks) {
		where = fmt.Sprintf("at %q (offset %d)", p.toks[p.i].text, p.toks[p.i].pos)
	}
	return fmt.Errorf("%s: %w", where, fmt.Errorf(format, args...))
}

func (p *parser) parse() (pred, error) {
	if len(p.toks) == 0 {
		return predConst(true), nil
	}
	tree, err := p.expr()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, p.errorf("unexpected word")
	}
	return tree, nil
}

func isAnd(s string) bool { return s == "and" || s == "&&" }
func isOr(s string) bool  { return s == "or" || s == "||" }

// expr := term { (and|or) term }, left to right with equal precedence.
func (p *parser) expr() (pred, error) {
	left, err := p.term()
	if err != nil {
		return nil, err
	}
	for {
		op := p.peek()
		if !isAnd(op) && !isOr(op) {
			return left, nil
		}
		p.next()
		right, err := p.term()
		if err != nil {
			return nil, err
		}
		if isAnd(op) {
			left = predAnd{left, right}
		} else {
			left = predOr{left, right}
		}
	}
}

// term := (not|!) term | ( expr ) | primitive
func (p *parser) term() (pred, error) {
	switch t := p.peek(); {
	case t == "":
		return nil, p.errorf("expression ends too early")
	case t == "not" || t == "!":
		p.next()
		inner, err := p.term()
		if err != nil {
			return nil, err
		}
		return predNot{inner}, nil
	case t == "(":
		p.next()
		inner, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.peek() != ")" {
			return nil, p.errorf("missing )")
		}
		p.next()
		return inner, nil
	case t == ")":
		return nil, p.errorf("unexpected )")
	}
	return p.primitive()
}

var protoWords = map[string]bool{"ip": true, "ip6": true, "tcp": true, "udp": true, "sctp": true}

var kindWords = map[string]bool{"host": true, "net": true, "port": true, "portrange": true}

func (p *parser) primitive() (pred, error) {
	word := strings.ToLower(p.peek())
	switch word {
	case "vlan":
		return p.vlan()
	case "less", "greater":
		p.next()
		n, err := p.number(0xffffffff)
		if err != nil {
			return nil, err
		}
		if word == "less" { // len <= n
			return predNot{atom{size: loadLen, op: jmpJGT, k: n}}, nil
		}
		return atom{size: loadLen, op: jmpJGE, k: n}, nil
	case "icmp", "icmp6", "arp":
		p.next()
		return p.protoAlone(word)
	}

	var q qualifiers
	qualified := false
	if protoWords[word] {
		q.proto = word
		qualified = true
		p.next()
		next := strings.ToLower(p.peek())
		if next != "src" && next != "dst" && !kindWords[next] {
			// "tcp" on its own: a protocol test.
			return p.protoAlone(q.proto)
		}
	}
	if d := strings.ToLower(p.peek()); d == "src" || d == "dst" {
		qualified = true
		p.next()
		q.dir = dirSrc
		if d == "dst" {
			q.dir = dirDst
		}
		conj, other := strings.ToLower(p.peek()), strings.ToLower(p.peekAt(1))
		if (isAnd(conj) || isOr(conj)) && (other == "src" || other == "dst") && other != d {
			p.next()
			p.next()
			q.dir = dirSrcOrDst
			if isAnd(conj) {
				q.dir = dirSrcAndDst
			}
		}
	}
	if k := strings.ToLower(p.peek()); kindWords[k] {
		qualified = true
		q.kind = k
		p.next()
	}
	if !qualified {
		if !p.hasLast {
			return nil, p.errorf("%q: %w", p.peek(), ErrUnsupported)
		}
		q = p.last
	}
	if p.peek() == "" || p.peek() == "(" || p.peek() == ")" || p.peek() == "!" {
		return nil, p.errorf("missing address, network or port")
	}
	id := p.next()
	p.last, p.hasLast = q, true
	out, err := p.qualified(q, id.text)
	if err != nil {
		p.i--
		return nil, p.errorf("%w", err)
	}
	return out, nil
}

func (p *parser) number(max uint32) (uint32, error) {
	if p.peek() == "" {
		return 0, p.errorf("missing number")
	}
	n, err := parseNumber(p.peek(), max)
	if err != nil {
		return 0, p.errorf("%w", err)
	}
	p.next()
	return n, nil
}

// vlan := vlan [ID]. It tests for an 802.1Q, 802.1ad or old QinQ tag at the
// current EtherType offset, then moves the offsets past the tag.
func (p *parser) vlan() (pred, error) {
	p.next()
	if p.layout.linkType != 1 /* Ethernet */ {
		return nil, p.errorf("vlan on link type %d: %w", p.layout.linkType, ErrUnsupported)
	}
	et := uint32(p.layout.etherType)
	tagged := or(
		atom{size: sizeH, off: et, op: jmpJEQ, k: 0x8100},
		atom{size: sizeH, off: et, op: jmpJEQ, k: 0x88a8},
		atom{size: sizeH, off: et, op: jmpJEQ, k: 0x9100},
	)
	if _, err := parseNumber(p.peek(), 4095); err == nil {
		id, _ := p.number(4095)
		tagged = and(tagged, atom{size: sizeH, off: et + 2, mask: 0x0fff, op: jmpJEQ, k: id})
	}
	p.layout.etherType += 4
	p.layout.network += 4
	return tagged, nil
}
