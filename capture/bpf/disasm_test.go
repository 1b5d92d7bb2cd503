package bpf

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/connscope/connscope/capture"
)

// TestDisassembleMatchesTcpdump prints tcpdump's own programs and expects
// exactly what `tcpdump -d` prints for them.
func TestDisassembleMatchesTcpdump(t *testing.T) {
	if _, err := exec.LookPath("tcpdump"); err != nil {
		t.Skip("tcpdump not installed")
	}
	exprs := []string{
		"tcp port 80 or host 2001:db8::1",
		"less 60 and portrange 1-100",
		"tcp[13] & 2 != 0 and ip[2:2] - 20 > 5*2 and ip[0] % 3 = 1 and ip[1] ^ 4 = 0 and ip[1] | 4 = 5 and " +
			"ip[2] << 2 = 0 and ip[2] >> 1 = 0 and ip[3] / 2 = 1 and -ip[3] = 1 and ip[4] = ip[5] and ip[6] + ip[7] * 3 = 9",
	}
	for _, expr := range exprs {
		prog, err := CompileTcpdump(expr, capture.LinkTypeEthernet, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		out, err := exec.CommandContext(ctx, "tcpdump", "-d", "-y", "EN10MB", "--", expr).Output()
		cancel()
		if err != nil {
			t.Fatalf("tcpdump -d %q: %v", expr, err)
		}
		if got := Disassemble(prog); got != string(out) {
			t.Errorf("%q:\ngot:\n%s\ntcpdump -d:\n%s", expr, got, out)
		}
	}
}

func TestDisassembleEveryOpcode(t *testing.T) {
	prog := []RawInstruction{
		{Op: classJMP | jmpJA, K: 1},
		{Op: classLDX | modeLEN},
		{Op: classSTX, K: 3},
		{Op: classMISC | miscTXA},
		{Op: classRET | retA},
		{Op: classRET | srcX},
		{Op: classJMP | jmpJGE | srcX, Jt: 0, Jf: 1},
		{Op: 0xffff},
	}
	got := Disassemble(prog)
	for _, want := range []string{"(000) ja       2\n", "ldx      #pktlen", "stx      M[3]", "txa", "ret      a", "ret      x", "jge      x                jt 7\tjf 8", "unimp    0xffff"} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}
