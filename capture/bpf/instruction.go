package bpf

import (
	"errors"
	"fmt"
)

// RawInstruction is one classic BPF instruction exactly as the kernel's
// struct sock_filter holds it and as `tcpdump -ddd` prints it: an opcode,
// the two relative jump offsets of a conditional jump, and a constant.
type RawInstruction struct {
	Op uint16 // class | size/op | mode/source bits
	Jt uint8  // for a conditional jump: instructions to skip when true
	Jf uint8  // ... and when false
	K  uint32 // constant: offset, immediate value or jump distance
}

// Instruction classes (the low three bits of Op).
const (
	classLD   = 0x00
	classLDX  = 0x01
	classST   = 0x02
	classSTX  = 0x03
	classALU  = 0x04
	classJMP  = 0x05
	classRET  = 0x06
	classMISC = 0x07
)

// Load sizes.
const (
	sizeW = 0x00
	sizeH = 0x08
	sizeB = 0x10
)

// Load modes.
const (
	modeIMM = 0x00
	modeABS = 0x20
	modeIND = 0x40
	modeMEM = 0x60
	modeLEN = 0x80
	modeMSH = 0xa0
)

// ALU operations.
const (
	aluADD = 0x00
	aluSUB = 0x10
	aluMUL = 0x20
	aluDIV = 0x30
	aluOR  = 0x40
	aluAND = 0x50
	aluLSH = 0x60
	aluRSH = 0x70
	aluNEG = 0x80
	aluMOD = 0x90
	aluXOR = 0xa0
)

// Jump conditions.
const (
	jmpJA   = 0x00
	jmpJEQ  = 0x10
	jmpJGT  = 0x20
	jmpJGE  = 0x30
	jmpJSET = 0x40
)

// Operand sources for ALU and jumps, and return values.
const (
	srcK = 0x00
	srcX = 0x08
	retA = 0x10
)

// MISC operations.
const (
	miscTAX = 0x00
	miscTXA = 0x80
)

// MaxInstructions is the kernel's limit on a classic BPF program
// (BPF_MAXINSNS); SO_ATTACH_FILTER refuses longer programs.
const MaxInstructions = 4096

// memWords is the size of the scratch memory M[0..15].
const memWords = 16

// ErrInvalidProgram is wrapped by every error Validate returns.
var ErrInvalidProgram = errors.New("invalid BPF program")

// Validate checks a program the way the kernel's sk_chk_filter does before
// it accepts one: not empty, not too long, every opcode known, every jump
// inside the program, scratch memory indexes in range, no division by a zero
// constant, and a return instruction last so that execution cannot run off
// the end.
func Validate(prog []RawInstruction) error {
	if len(prog) == 0 {
		return fmt.Errorf("%w: empty", ErrInvalidProgram)
	}
	if len(prog) > MaxInstructions {
		return fmt.Errorf("%w: %d instructions, the kernel accepts at most %d", ErrInvalidProgram, len(prog), MaxInstructions)
	}
	for pc, ins := range prog {
		if err := validateOne(prog, pc, ins); err != nil {
			return fmt.Errorf("%w: instruction %d (%s): %s", ErrInvalidProgram, pc, ins, err)
		}
	}
	if prog[len(prog)-1].Op&0x07 != classRET {
		return fmt.Errorf("%w: last instruction is not a return", ErrInvalidProgram)
	}
	return nil
}

func validateOne(prog []RawInstruction, pc int, ins RawInstruction) error {
	remaining := len(prog) - pc - 1
	switch ins.Op & 0x07 {
	case classLD:
		switch ins.Op &^ 0x07 {
		case modeIMM | sizeW, modeABS | sizeW, modeABS | sizeH, modeABS | sizeB,
			modeIND | sizeW, modeIND | sizeH, modeIND | sizeB, modeLEN | sizeW:
		case modeMEM | sizeW:
			if ins.K >= memWords {
				return errors.New("scratch memory index out of range")
			}
		default:
			return errors.New("unknown load")
		}
	case classLDX:
		switch ins.Op &^ 0x07 {
		case modeIMM | sizeW, modeLEN | sizeW, modeMSH | sizeB:
		case modeMEM | sizeW:
			if ins.K >= memWords {
				return errors.New("scratch memory index out of range")
			}
		default:
			return errors.New("unknown load")
		}
	case classST, classSTX:
		if ins.Op&^0x07 != 0 {
			return errors.New("unknown store")
		}
		if ins.K >= memWords {
			return errors.New("scratch memory index out of range")
		}
	case classALU:
		op, src := ins.Op&0xf0, ins.Op&0x08
		if ins.Op&^0xff != 0 || op > aluXOR {
			return errors.New("unknown ALU operation")
		}
		if src == srcK && (op == aluDIV || op == aluMOD) && ins.K == 0 {
			return errors.New("division by zero")
		}
		if src == srcK && (op == aluLSH || op == aluRSH) && ins.K >= 32 {
			return errors.New("shift by 32 or more")
		}
	case classJMP:
		op := ins.Op & 0xf0
		if ins.Op&^0xff != 0 || op > jmpJSET {
			return errors.New("unknown jump")
		}
		if op == jmpJA {
			if ins.Op&0x08 != 0 || uint64(ins.K) >= uint64(remaining) {
				return errors.New("jump out of the program")
			}
		} else if int(ins.Jt) >= remaining || int(ins.Jf) >= remaining {
			return errors.New("jump out of the program")
		}
	case classRET:
		switch ins.Op &^ 0x07 {
		case srcK, srcX, retA:
		default:
			return errors.New("unknown return")
		}
	case classMISC:
		switch ins.Op &^ 0x07 {
		case miscTAX, miscTXA:
		default:
			return errors.New("unknown misc operation")
		}
	}
	return nil
}

// String prints the instruction in `tcpdump -ddd` form: "op jt jf k".
func (ins RawInstruction) String() string {
	return fmt.Sprintf("%d %d %d %d", ins.Op, ins.Jt, ins.Jf, ins.K)
}
