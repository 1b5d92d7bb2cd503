// Command hostilegen writes one of the adversarial captures of package
// hostile to a file, for scripts/hostile-bench.sh:
//
//	go run ./internal/hostile/hostilegen -n 1000000 syn-flood /tmp/syn-flood.pcap
//
// Without -n it writes the full size issue 7 names. -list prints the
// scenarios with their full sizes.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/connscope/connscope/internal/hostile"
)

func main() {
	n := flag.Int("n", 0, "size of the capture (0: the scenario's full size)")
	list := flag.Bool("list", false, "list the scenarios and their full sizes")
	flag.Parse()
	if *list {
		for _, s := range hostile.Scenarios() {
			fmt.Printf("%s\t%d\t%s\t%s\n", s.Name, s.FullN, s.Unit, s.Doc)
		}
		return
	}
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: hostilegen [-n N] SCENARIO FILE | hostilegen -list")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), flag.Arg(1), *n); err != nil {
		fmt.Fprintln(os.Stderr, "hostilegen:", err)
		os.Exit(1)
	}
}

func run(name, file string, n int) error {
	s, err := hostile.ScenarioByName(name)
	if err != nil {
		return err
	}
	if n <= 0 {
		n = s.FullN
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if err := s.Write(f, n); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", file, err)
	}
	return f.Close()
}
