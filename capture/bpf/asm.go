package bpf

import "fmt"

// The assembler turns a predicate tree into classic BPF. It emits jumps to
// symbolic labels and resolves them at the end; a conditional jump can only
// skip 255 instructions, so one whose target lies further away is rewritten
// to jump over an unconditional `ja`, whose offset is 32 bits wide.

// pred is a boolean test on a frame: the built-in compiler turns each
// primitive into a tree of these, and the assembler turns the tree into
// short-circuit code.
type pred interface{ isPred() }

type (
	predAnd   struct{ a, b pred }
	predOr    struct{ a, b pred }
	predNot   struct{ a pred }
	predConst bool
	// atom loads a value from the frame, optionally masks it, and compares
	// it with k using op (jmpJEQ, jmpJGT, jmpJGE or jmpJSET).
	atom struct {
		size uint16 // sizeB, sizeH or sizeW; or loadLen for the frame length
		off  uint32
		// indirect loads at X+off, with X set to the IPv4 header length
		// read from the byte at ihlOff ("ldxb 4*([ihlOff]&0xf)").
		indirect bool
		ihlOff   uint32
		mask     uint32 // applied with `and` when non-zero
		op       uint16
		k        uint32
	}
)

func (predAnd) isPred()   {}
func (predOr) isPred()    {}
func (predNot) isPred()   {}
func (predConst) isPred() {}
func (atom) isPred()      {}

// loadLen marks an atom that tests the frame length instead of its bytes.
const loadLen = 0xffff

func and(ps ...pred) pred {
	var out pred
	for _, p := range ps {
		if out == nil {
			out = p
		} else {
			out = predAnd{out, p}
		}
	}
	if out == nil {
		return predConst(true)
	}
	return out
}

func or(ps ...pred) pred {
	var out pred
	for _, p := range ps {
		if out == nil {
			out = p
		} else {
			out = predOr{out, p}
		}
	}
	if out == nil {
		return predConst(false)
	}
	return out
}

type pseudoKind uint8

const (
	kindPlain pseudoKind = iota
	kindCond             // conditional jump to labels t and f
	kindJA               // unconditional jump to label t
	kindLabel            // position marker, no instruction
)

type pseudo struct {
	kind pseudoKind
	ins  RawInstruction
	t, f int // labels
	// far is set by the resolver when a conditional jump cannot reach its
	// targets directly and goes through two `ja` trampolines.
	far bool
}

type assembler struct {
	code   []pseudo
	labels int
	err    error
}

func (as *assembler) newLabel() int { as.labels++; return as.labels - 1 }

func (as *assembler) place(l int) { as.code = append(as.code, pseudo{kind: kindLabel, t: l}) }

func (as *assembler) plain(op uint16, k uint32) {
	as.code = append(as.code, pseudo{kind: kindPlain, ins: RawInstruction{Op: op, K: k}})
}

func (as *assembler) gen(p pred, t, f int) {
	switch p := p.(type) {
	case predAnd:
		next := as.newLabel()
		as.gen(p.a, next, f)
		as.place(next)
		as.gen(p.b, t, f)
	case predOr:
		next := as.newLabel()
		as.gen(p.a, t, next)
		as.place(next)
		as.gen(p.b, t, f)
	case predNot:
		as.gen(p.a, f, t)
	case predConst:
		target := f
		if p {
			target = t
		}
		as.code = append(as.code, pseudo{kind: kindJA, t: target})
	case atom:
		switch {
		case p.size == loadLen:
			as.plain(classLD|sizeW|modeLEN, 0)
		case p.indirect:
			as.plain(classLDX|sizeB|modeMSH, p.ihlOff)
			as.plain(classLD|p.size|modeIND, p.off)
		default:
			as.plain(classLD|p.size|modeABS, p.off)
		}
		if p.mask != 0 {
			as.plain(classALU|aluAND|srcK, p.mask)
		}
		as.code = append(as.code, pseudo{kind: kindCond, ins: RawInstruction{Op: classJMP | p.op | srcK, K: p.k}, t: t, f: f})
	default:
		// Unreachable: every predicate type is handled above.
		as.err = fmt.Errorf("bpf: internal error: unknown predicate %T", p)
	}
}

// resolve lays the code out and fills in jump offsets.
func (as *assembler) resolve() ([]RawInstruction, error) {
	if as.err != nil {
		return nil, as.err
	}
	var pos []int
	labelPos := make([]int, as.labels)
	for {
		pos = pos[:0]
		n := 0
		for _, c := range as.code {
			pos = append(pos, n)
			switch c.kind {
			case kindLabel:
				labelPos[c.t] = n
			case kindCond:
				n++
				if c.far {
					n += 2
				}
			default:
				n++
			}
		}
		if n > MaxInstructions {
			return nil, fmt.Errorf("bpf: the filter needs %d instructions, the kernel accepts at most %d", n, MaxInstructions)
		}
		changed := false
		for i, c := range as.code {
			if c.kind != kindCond || c.far {
				continue
			}
			if labelPos[c.t]-pos[i]-1 > 255 || labelPos[c.f]-pos[i]-1 > 255 {
				as.code[i].far = true
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	prog := make([]RawInstruction, 0, len(as.code))
	for i, c := range as.code {
		switch c.kind {
		case kindPlain:
			prog = append(prog, c.ins)
		case kindJA:
			prog = append(prog, RawInstruction{Op: classJMP | jmpJA, K: uint32(labelPos[c.t] - pos[i] - 1)})
		case kindCond:
			ins := c.ins
			if c.far {
				ins.Jt, ins.Jf = 0, 1
				prog = append(prog, ins,
					RawInstruction{Op: classJMP | jmpJA, K: uint32(labelPos[c.t] - pos[i] - 2)},
					RawInstruction{Op: classJMP | jmpJA, K: uint32(labelPos[c.f] - pos[i] - 3)})
				continue
			}
			ins.Jt = uint8(labelPos[c.t] - pos[i] - 1)
			ins.Jf = uint8(labelPos[c.f] - pos[i] - 1)
			prog = append(prog, ins)
		}
	}
	return prog, nil
}

// assemble compiles a predicate into a program returning snaplen for the
// frames it accepts and 0 for the others.
func assemble(p pred, snaplen uint32) ([]RawInstruction, error) {
	var as assembler
	accept, reject := as.newLabel(), as.newLabel()
	as.gen(p, accept, reject)
	as.place(accept)
	as.plain(classRET|srcK, snaplen)
	as.place(reject)
	as.plain(classRET|srcK, 0)
	prog, err := as.resolve()
	if err != nil {
		return nil, err
	}
	if err := Validate(prog); err != nil {
		return nil, fmt.Errorf("bpf: built-in compiler produced a bad program: %w", err)
	}
	return prog, nil
}
