package bpf

import (
	"fmt"
	"strings"
)

// Disassemble prints prog the way `tcpdump -d` does, one instruction per
// line with absolute jump targets:
//
//	(000) ldh      [12]
//	(001) jeq      #0x800           jt 2	jf 5
//
// so a program can be read, and compared with tcpdump's, while debugging a
// filter.
func Disassemble(prog []RawInstruction) string {
	var b strings.Builder
	for n, ins := range prog {
		op, operand := mnemonic(ins, n)
		if ins.Op&0x07 == classJMP && ins.Op&0xf0 != jmpJA {
			fmt.Fprintf(&b, "(%03d) %-8s %-16s jt %d\tjf %d\n", n, op, operand, n+1+int(ins.Jt), n+1+int(ins.Jf))
			continue
		}
		fmt.Fprintf(&b, "(%03d) %-8s %s\n", n, op, operand)
	}
	return b.String()
}

// mnemonic names an instruction and formats its operand as libpcap's
// bpf_image does.
func mnemonic(ins RawInstruction, n int) (op, operand string) {
	k := ins.K
	switch ins.Op {
	case classLD | sizeW | modeABS:
		return "ld", fmt.Sprintf("[%d]", k)
	case classLD | sizeH | modeABS:
		return "ldh", fmt.Sprintf("[%d]", k)
	case classLD | sizeB | modeABS:
		return "ldb", fmt.Sprintf("[%d]", k)
	case classLD | sizeW | modeLEN:
		return "ld", "#pktlen"
	case classLD | sizeW | modeIND:
		return "ld", fmt.Sprintf("[x + %d]", k)
	case classLD | sizeH | modeIND:
		return "ldh", fmt.Sprintf("[x + %d]", k)
	case classLD | sizeB | modeIND:
		return "ldb", fmt.Sprintf("[x + %d]", k)
	case classLD | modeIMM:
		return "ld", fmt.Sprintf("#0x%x", k)
	case classLDX | modeIMM:
		return "ldx", fmt.Sprintf("#0x%x", k)
	case classLDX | sizeB | modeMSH:
		return "ldxb", fmt.Sprintf("4*([%d]&0xf)", k)
	case classLDX | modeLEN:
		return "ldx", "#pktlen"
	case classLD | modeMEM:
		return "ld", fmt.Sprintf("M[%d]", k)
	case classLDX | modeMEM:
		return "ldx", fmt.Sprintf("M[%d]", k)
	case classST:
		return "st", fmt.Sprintf("M[%d]", k)
	case classSTX:
		return "stx", fmt.Sprintf("M[%d]", k)
	case classJMP | jmpJA:
		return "ja", fmt.Sprintf("%d", n+1+int(k))
	case classRET | srcK:
		return "ret", fmt.Sprintf("#%d", k)
	case classRET | retA:
		return "ret", "a"
	case classRET | srcX:
		return "ret", "x"
	case classMISC | miscTAX:
		return "tax", ""
	case classMISC | miscTXA:
		return "txa", ""
	case classALU | aluNEG:
		return "neg", ""
	}
	names := map[uint16]string{
		jmpJEQ: "jeq", jmpJGT: "jgt", jmpJGE: "jge", jmpJSET: "jset",
	}
	aluNames := map[uint16]string{
		aluADD: "add", aluSUB: "sub", aluMUL: "mul", aluDIV: "div", aluMOD: "mod",
		aluAND: "and", aluOR: "or", aluXOR: "xor", aluLSH: "lsh", aluRSH: "rsh",
	}
	switch ins.Op & 0x07 {
	case classJMP:
		if name, ok := names[ins.Op&0xf0]; ok && ins.Op&^0xf8 == classJMP {
			if ins.Op&srcX != 0 {
				return name, "x"
			}
			return name, fmt.Sprintf("#0x%x", k)
		}
	case classALU:
		if name, ok := aluNames[ins.Op&0xf0]; ok && ins.Op&^0xf8 == classALU {
			switch {
			case ins.Op&srcX != 0:
				return name, "x"
			case ins.Op&0xf0 == aluAND || ins.Op&0xf0 == aluOR || ins.Op&0xf0 == aluXOR:
				return name, fmt.Sprintf("#0x%x", k)
			}
			return name, fmt.Sprintf("#%d", k)
		}
	}
	return "unimp", fmt.Sprintf("0x%x", ins.Op)
}
