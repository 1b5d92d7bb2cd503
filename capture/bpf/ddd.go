package bpf

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// ParseDDD reads a program in the decimal form `tcpdump -ddd` prints: a first
// line with the instruction count, then one line per instruction with four
// numbers, "op jt jf k". Blank lines are ignored, as are comment lines that
// start with '#'. The program is validated (see Validate) before it is
// returned, and errors name the line at fault.
func ParseDDD(text string) ([]RawInstruction, error) {
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	want := -1
	var prog []RawInstruction
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		fields := strings.Fields(s)
		if want < 0 {
			if len(fields) != 1 {
				return nil, fmt.Errorf("bpf: line %d: want the instruction count, got %q", line, s)
			}
			n, err := strconv.ParseUint(fields[0], 10, 16)
			if err != nil || n == 0 || n > MaxInstructions {
				return nil, fmt.Errorf("bpf: line %d: instruction count %q is not between 1 and %d", line, s, MaxInstructions)
			}
			want = int(n)
			prog = make([]RawInstruction, 0, want)
			continue
		}
		if len(fields) != 4 {
			return nil, fmt.Errorf("bpf: line %d: want four numbers \"op jt jf k\", got %q", line, s)
		}
		var v [4]uint64
		bits := [4]int{16, 8, 8, 32}
		for i, f := range fields {
			n, err := strconv.ParseUint(f, 10, bits[i])
			if err != nil {
				return nil, fmt.Errorf("bpf: line %d: field %d %q: %w", line, i+1, f, err)
			}
			v[i] = n
		}
		if len(prog) == want {
			return nil, fmt.Errorf("bpf: line %d: more instructions than the count %d", line, want)
		}
		prog = append(prog, RawInstruction{Op: uint16(v[0]), Jt: uint8(v[1]), Jf: uint8(v[2]), K: uint32(v[3])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("bpf: line %d: %w", line+1, err)
	}
	if want < 0 {
		return nil, fmt.Errorf("bpf: no program: the input is empty")
	}
	if len(prog) != want {
		return nil, fmt.Errorf("bpf: the count says %d instructions but %d follow", want, len(prog))
	}
	if err := Validate(prog); err != nil {
		return nil, fmt.Errorf("bpf: %w", err)
	}
	return prog, nil
}

// FormatDDD prints prog in `tcpdump -ddd` form, the inverse of ParseDDD.
func FormatDDD(prog []RawInstruction) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", len(prog))
	for _, ins := range prog {
		b.WriteString(ins.String())
		b.WriteByte('\n')
	}
	return b.String()
}
