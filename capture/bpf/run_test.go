package bpf

import (
	"strings"
	"testing"

	"github.com/connscope/connscope/capture"
)

func TestRunInstructions(t *testing.T) {
	pkt := []byte{0x45, 0x00, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x07}
	ret := func(v uint32) RawInstruction { return RawInstruction{Op: classRET | srcK, K: v} }
	retA := RawInstruction{Op: classRET | retA}
	cases := []struct {
		desc string
		prog []RawInstruction
		want uint32
	}{
		{"ret k", []RawInstruction{ret(7)}, 7},
		{"ld word", []RawInstruction{{Op: classLD | sizeW | modeABS, K: 4}, retA}, 0xdeadbeef},
		{"ld half", []RawInstruction{{Op: classLD | sizeH | modeABS, K: 2}, retA}, 0x1234},
		{"ld byte", []RawInstruction{{Op: classLD | sizeB | modeABS, K: 8}, retA}, 7},
		{"ld past end rejects", []RawInstruction{{Op: classLD | sizeW | modeABS, K: 6}, ret(1)}, 0},
		{"ld huge offset rejects", []RawInstruction{{Op: classLD | sizeB | modeABS, K: 0xfffff000}, ret(1)}, 0},
		{"ld len", []RawInstruction{{Op: classLD | sizeW | modeLEN}, retA}, 9},
		{"ldx msh sets x", []RawInstruction{{Op: classLDX | sizeB | modeMSH, K: 8}, {Op: classMISC | miscTXA}, retA}, 28},
		{"ind", []RawInstruction{{Op: classLDX | modeIMM, K: 4}, {Op: classLD | sizeH | modeIND, K: 1}, retA}, 0xadbe},
		{"ind overflow rejects", []RawInstruction{{Op: classLDX | modeIMM, K: 0xffffffff}, {Op: classLD | sizeB | modeIND, K: 2}, ret(1)}, 0},
		{"alu", []RawInstruction{{Op: classLD | modeIMM, K: 6}, {Op: classALU | aluMUL, K: 7}, {Op: classALU | aluSUB, K: 2}, {Op: classALU | aluDIV, K: 4}, {Op: classALU | aluLSH, K: 4}, {Op: classALU | aluOR, K: 1}, {Op: classALU | aluXOR, K: 3}, {Op: classALU | aluMOD, K: 100}, retA}, 62},
		{"neg", []RawInstruction{{Op: classLD | modeIMM, K: 1}, {Op: classALU | aluNEG}, retA}, 0xffffffff},
		{"div by zero x rejects", []RawInstruction{{Op: classLD | modeIMM, K: 1}, {Op: classALU | aluDIV | srcX}, ret(1)}, 0},
		{"mem", []RawInstruction{{Op: classLD | modeIMM, K: 9}, {Op: classST, K: 15}, {Op: classLDX | modeMEM, K: 15}, {Op: classMISC | miscTXA}, retA}, 9},
		{"tax", []RawInstruction{{Op: classLD | modeIMM, K: 5}, {Op: classMISC | miscTAX}, {Op: classRET | srcX}}, 5},
		{"jeq taken", []RawInstruction{{Op: classLD | sizeB | modeABS, K: 0}, {Op: classJMP | jmpJEQ, K: 0x45, Jt: 0, Jf: 1}, ret(1), ret(2)}, 1},
		{"jgt", []RawInstruction{{Op: classLD | sizeB | modeABS, K: 0}, {Op: classJMP | jmpJGT, K: 0x45, Jt: 0, Jf: 1}, ret(1), ret(2)}, 2},
		{"jge", []RawInstruction{{Op: classLD | sizeB | modeABS, K: 0}, {Op: classJMP | jmpJGE, K: 0x45, Jt: 0, Jf: 1}, ret(1), ret(2)}, 1},
		{"jset", []RawInstruction{{Op: classLD | sizeB | modeABS, K: 0}, {Op: classJMP | jmpJSET, K: 0x02, Jt: 0, Jf: 1}, ret(1), ret(2)}, 2},
		{"ja", []RawInstruction{{Op: classJMP | jmpJA, K: 1}, ret(1), ret(2)}, 2},
		{"jump past end rejects", []RawInstruction{{Op: classJMP | jmpJA, K: 5}, ret(1)}, 0},
		{"running off the end rejects", []RawInstruction{{Op: classLD | modeIMM, K: 1}}, 0},
		{"bad scratch index rejects", []RawInstruction{{Op: classST, K: 16}, ret(1)}, 0},
		{"empty program rejects", nil, 0},
	}
	for _, c := range cases {
		if got := RunLength(c.prog, pkt); got != c.want {
			t.Errorf("%s: got %d, want %d", c.desc, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	ret1 := RawInstruction{Op: classRET | srcK, K: 1}
	bad := []struct {
		desc string
		prog []RawInstruction
	}{
		{"empty", nil},
		{"no return at the end", []RawInstruction{{Op: classLD | modeIMM}}},
		{"jump out", []RawInstruction{{Op: classJMP | jmpJEQ, Jt: 1}, ret1}},
		{"ja out", []RawInstruction{{Op: classJMP | jmpJA, K: 1}, ret1}},
		{"div by zero", []RawInstruction{{Op: classALU | aluDIV}, ret1}},
		{"scratch", []RawInstruction{{Op: classLD | modeMEM, K: 16}, ret1}},
		{"unknown opcode", []RawInstruction{{Op: 0xffff}, ret1}},
		{"too long", make([]RawInstruction, MaxInstructions+1)},
	}
	for _, c := range bad {
		if err := Validate(c.prog); err == nil {
			t.Errorf("%s: valid, want an error", c.desc)
		}
	}
	for _, lt := range linkTypes {
		prog, err := CompileBuiltin("tcp port 80 or host 10.0.0.1", lt, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(prog); err != nil {
			t.Errorf("link %d: %v", lt, err)
		}
	}
}

func TestParseDDD(t *testing.T) {
	prog, err := CompileBuiltin("tcp port 80", capture.LinkTypeEthernet, 1500)
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseDDD(FormatDDD(prog))
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(prog) {
		t.Fatalf("round trip: %d instructions, want %d", len(back), len(prog))
	}
	for i := range prog {
		if back[i] != prog[i] {
			t.Errorf("instruction %d: %v, want %v", i, back[i], prog[i])
		}
	}
	// Real `tcpdump -ddd -y EN10MB tcp` output, with a comment and a blank line.
	text := "# tcp\n\n9\n40 0 0 12\n21 0 5 34525\n48 0 0 20\n21 2 0 6\n21 0 3 44\n48 0 0 54\n21 0 1 6\n6 0 0 262144\n6 0 0 0\n"
	tcp, err := ParseDDD(text)
	if err != nil {
		t.Fatal(err)
	}
	v6tcp := frame(capture.LinkTypeEthernet, 0x86dd, ipPacket(mustAddr("::1"), mustAddr("::2"), l4{6, 1, 2}, 0, 0, true))
	v6udp := frame(capture.LinkTypeEthernet, 0x86dd, ipPacket(mustAddr("::1"), mustAddr("::2"), l4{17, 1, 2}, 0, 0, false))
	if !Run(tcp, v6tcp) || Run(tcp, v6udp) {
		t.Error("parsed tcpdump program decides wrongly")
	}
	if _, err := ParseDDD(strings.Replace(text, "\n9\n", "\n8\n", 1)); err == nil || !strings.Contains(err.Error(), "more instructions than the count 8") {
		t.Errorf("count mismatch: %v", err)
	}
	bad := map[string]string{
		"empty":         "",
		"count only":    "1\n",
		"not a number":  "1\n6 0 0 x\n",
		"three fields":  "1\n6 0 0\n",
		"jt too large":  "1\n21 300 0 0\n",
		"invalid":       "1\n21 0 0 0\n",
		"count of zero": "0\n",
		"extra":         "1\n6 0 0 1\n6 0 0 1\n",
	}
	for desc, text := range bad {
		if _, err := ParseDDD(text); err == nil {
			t.Errorf("%s: parsed, want an error", desc)
		}
	}
}

// FuzzRun checks that no program and packet can make the interpreter panic
// or loop.
func FuzzRun(f *testing.F) {
	prog, _ := CompileBuiltin("tcp port 80", capture.LinkTypeEthernet, 0)
	f.Add([]byte(FormatDDD(prog)), frame(capture.LinkTypeEthernet, 0x0800, nil))
	f.Fuzz(func(t *testing.T, progBytes, packet []byte) {
		var p []RawInstruction
		for i := 0; i+8 <= len(progBytes) && len(p) < 64; i += 8 {
			b := progBytes[i:]
			p = append(p, RawInstruction{Op: uint16(b[0])<<8 | uint16(b[1]), Jt: b[2], Jf: b[3], K: uint32(b[4])<<24 | uint32(b[5])<<16 | uint32(b[6])<<8 | uint32(b[7])})
		}
		RunLength(p, packet)
		_ = Validate(p)
	})
}

// FuzzCompileBuiltin checks that any expression either fails cleanly or
// yields a valid program.
func FuzzCompileBuiltin(f *testing.F) {
	for _, e := range expressionCorpus {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		for _, lt := range linkTypes {
			prog, err := CompileBuiltin(expr, lt, 0)
			if err != nil {
				continue
			}
			if err := Validate(prog); err != nil {
				t.Fatalf("%q: invalid program: %v", expr, err)
			}
		}
	})
}

func BenchmarkRunTCPPort80(b *testing.B) {
	prog, err := CompileBuiltin("tcp port 80 and host 10.0.0.1", capture.LinkTypeEthernet, 0)
	if err != nil {
		b.Fatal(err)
	}
	pkt := frame(capture.LinkTypeEthernet, 0x0800, ipPacket(mustAddr("10.0.0.1"), mustAddr("10.1.2.3"), l4{6, 40000, 80}, 5, 0, false))
	b.ReportAllocs()
	for b.Loop() {
		if !Run(prog, pkt) {
			b.Fatal("rejected")
		}
	}
}

// FuzzParseDDD checks that any text either fails with an error or yields a
// program that passes Validate and survives a round trip.
func FuzzParseDDD(f *testing.F) {
	f.Add("9\n40 0 0 12\n21 0 5 34525\n48 0 0 20\n21 2 0 6\n21 0 3 44\n48 0 0 54\n21 0 1 6\n6 0 0 262144\n6 0 0 0\n")
	f.Add("1\n6 0 0 0\n")
	f.Fuzz(func(t *testing.T, text string) {
		prog, err := ParseDDD(text)
		if err != nil {
			return
		}
		if err := Validate(prog); err != nil {
			t.Fatalf("ParseDDD returned an invalid program: %v", err)
		}
		back, err := ParseDDD(FormatDDD(prog))
		if err != nil || len(back) != len(prog) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
