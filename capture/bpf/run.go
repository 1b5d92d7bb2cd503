package bpf

import "encoding/binary"

// Run executes prog on one frame and reports whether the program accepts it
// (returns a non-zero length), as the kernel would when the same program is
// attached with SO_ATTACH_FILTER.
//
// Run never panics and never loops: classic BPF only jumps forward, a load
// outside the packet rejects the packet (as in the kernel), and a malformed
// program (a jump past the end, an unknown opcode, a bad scratch index)
// rejects too. Call Validate first to learn why a program is malformed.
func Run(prog []RawInstruction, packet []byte) (accept bool) {
	return RunLength(prog, packet) != 0
}

// RunLength executes prog on one frame and returns the program's return
// value: 0 rejects the frame, any other value is the number of bytes the
// kernel would keep of it (the snap length).
//
// Linux "ancillary" loads (offsets at or above 0xfffff000, SKF_AD_OFF) read
// socket-buffer metadata that a frame in user space does not carry; they are
// treated as loads outside the packet, so they reject it.
func RunLength(prog []RawInstruction, packet []byte) uint32 {
	var a, x uint32
	var mem [memWords]uint32
	n := uint64(len(packet))
	for pc := 0; pc < len(prog); pc++ {
		ins := prog[pc]
		switch ins.Op & 0x07 {
		case classLD:
			switch ins.Op &^ 0x07 {
			case modeIMM | sizeW:
				a = ins.K
			case modeLEN | sizeW:
				a = uint32(len(packet))
			case modeMEM | sizeW:
				if ins.K >= memWords {
					return 0
				}
				a = mem[ins.K]
			case modeABS | sizeW, modeABS | sizeH, modeABS | sizeB:
				v, ok := load(packet, n, uint64(ins.K), ins.Op&0x18)
				if !ok {
					return 0
				}
				a = v
			case modeIND | sizeW, modeIND | sizeH, modeIND | sizeB:
				v, ok := load(packet, n, uint64(x)+uint64(ins.K), ins.Op&0x18)
				if !ok {
					return 0
				}
				a = v
			default:
				return 0
			}
		case classLDX:
			switch ins.Op &^ 0x07 {
			case modeIMM | sizeW:
				x = ins.K
			case modeLEN | sizeW:
				x = uint32(len(packet))
			case modeMEM | sizeW:
				if ins.K >= memWords {
					return 0
				}
				x = mem[ins.K]
			case modeMSH | sizeB:
				v, ok := load(packet, n, uint64(ins.K), sizeB)
				if !ok {
					return 0
				}
				x = 4 * (v & 0x0f)
			default:
				return 0
			}
		case classST:
			if ins.K >= memWords {
				return 0
			}
			mem[ins.K] = a
		case classSTX:
			if ins.K >= memWords {
				return 0
			}
			mem[ins.K] = x
		case classALU:
			operand := ins.K
			if ins.Op&srcX != 0 {
				operand = x
			}
			var ok bool
			a, ok = alu(ins.Op&0xf0, a, operand)
			if !ok {
				return 0
			}
		case classJMP:
			op := ins.Op & 0xf0
			if op == jmpJA {
				pc += int(ins.K)
				if ins.K >= uint32(len(prog)) {
					return 0
				}
				continue
			}
			operand := ins.K
			if ins.Op&srcX != 0 {
				operand = x
			}
			var cond bool
			switch op {
			case jmpJEQ:
				cond = a == operand
			case jmpJGT:
				cond = a > operand
			case jmpJGE:
				cond = a >= operand
			case jmpJSET:
				cond = a&operand != 0
			default:
				return 0
			}
			if cond {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
		case classRET:
			switch ins.Op &^ 0x07 {
			case srcK:
				return ins.K
			case srcX:
				return x
			case retA:
				return a
			default:
				return 0
			}
		case classMISC:
			switch ins.Op &^ 0x07 {
			case miscTAX:
				x = a
			case miscTXA:
				a = x
			default:
				return 0
			}
		}
	}
	// Ran off the end: the kernel never lets this happen (Validate), so a
	// program that does is malformed and rejects.
	return 0
}

// load reads a big-endian word, half-word or byte at off, reporting false
// when it does not lie wholly inside the packet.
func load(packet []byte, n, off uint64, size uint16) (uint32, bool) {
	switch size {
	case sizeW:
		if off+4 > n {
			return 0, false
		}
		return binary.BigEndian.Uint32(packet[off:]), true
	case sizeH:
		if off+2 > n {
			return 0, false
		}
		return uint32(binary.BigEndian.Uint16(packet[off:])), true
	case sizeB:
		if off+1 > n {
			return 0, false
		}
		return uint32(packet[off]), true
	}
	return 0, false
}

// alu applies one arithmetic operation; it reports false for a division by
// zero, which makes the kernel reject the packet.
func alu(op uint16, a, v uint32) (uint32, bool) {
	switch op {
	case aluADD:
		return a + v, true
	case aluSUB:
		return a - v, true
	case aluMUL:
		return a * v, true
	case aluDIV:
		if v == 0 {
			return 0, false
		}
		return a / v, true
	case aluMOD:
		if v == 0 {
			return 0, false
		}
		return a % v, true
	case aluOR:
		return a | v, true
	case aluAND:
		return a & v, true
	case aluXOR:
		return a ^ v, true
	case aluLSH:
		if v >= 32 {
			return 0, true
		}
		return a << v, true
	case aluRSH:
		if v >= 32 {
			return 0, true
		}
		return a >> v, true
	case aluNEG:
		return -a, true
	}
	return 0, false
}
