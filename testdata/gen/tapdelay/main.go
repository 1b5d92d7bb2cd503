// Command tapdelay joins two TAP devices that live in two different network
// namespaces and forwards every Ethernet frame between them after a fixed
// delay. netem is not available on the machines that regenerate connscope's
// test captures, so this relay is how the Linux TCP stacks on either side get a
// real round-trip time: slow start shows as flights one RTT apart, the
// retransmission timer scales with the RTT, and a FIN and a request can cross
// in flight.
//
// It can also drop chosen frames (the first SYN, the Nth data segment in one
// direction, the first segment whose payload contains a marker) so that loss
// and retransmission come from the real kernels' recovery, not from editing a
// file afterwards.
//
// Usage (as root, after gen.sh created persistent TAPs in the namespaces):
//
//	tapdelay -a csgen-cli/csgtapc -b csgen-srv/csgtaps -delay 25ms \
//	    -drop a2b:syn:1 -drop b2a:data:3
//
// Side a is usually the client, b the server; a2b is client to server.
// With -mirror it also copies every frame it forwards (not the dropped ones)
// to a third TAP, optionally with VLAN tags inserted, so tcpdump on that TAP
// sees the traffic as a switch mirror port on a VLAN trunk would. The kernel
// here has no 802.1Q support, so this is how VLAN and QinQ captures are made.
//
// The relay runs until SIGINT or SIGTERM and prints what it dropped.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

type dropList []*dropRule

func (d *dropList) String() string { return fmt.Sprint(*d) }
func (d *dropList) Set(s string) error {
	r, err := parseDropRule(s)
	if err != nil {
		return err
	}
	*d = append(*d, r)
	return nil
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("tapdelay: ")
	var (
		sideA  = flag.String("a", "", "first TAP as NETNS/IFNAME (the client side)")
		sideB  = flag.String("b", "", "second TAP as NETNS/IFNAME (the server side)")
		delay  = flag.Duration("delay", 0, "one-way delay added to every frame in both directions")
		mirror = flag.String("mirror", "", "also copy every forwarded frame to this TAP (NETNS/IFNAME), like a switch's mirror port")
		tags   = flag.String("mirror-tags", "", "VLAN tags to insert in mirrored frames, outermost first: 100 (802.1Q) or ad200,100 (802.1ad outer, 802.1Q inner)")
		drops  dropList
	)
	flag.Var(&drops, "drop", "drop rule DIR:KIND:N (repeatable); DIR a2b|b2a, KIND syn|synack|data|fin|rst|has=TEXT, N the 1-based ordinal among matching frames")
	flag.Parse()
	if *sideA == "" || *sideB == "" {
		log.Fatal("need -a NETNS/IFNAME and -b NETNS/IFNAME")
	}
	tagBytes, err := parseTags(*tags)
	if err != nil {
		log.Fatal(err)
	}
	if err := run(*sideA, *sideB, *mirror, tagBytes, *delay, drops); err != nil {
		log.Fatal(err)
	}
}

func run(sideA, sideB, mirrorSpec string, tags []byte, delay time.Duration, drops dropList) error {
	tapA, err := openTAPIn(sideA)
	if err != nil {
		return err
	}
	tapB, err := openTAPIn(sideB)
	if err != nil {
		return err
	}
	var mirror *os.File
	if mirrorSpec != "" {
		if mirror, err = openTAPIn(mirrorSpec); err != nil {
			return err
		}
	}
	var mu sync.Mutex // guards the drop rules' counters and the mirror
	filter := func(dir string, frame []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range drops {
			if r.dir == dir && r.matches(frame) {
				r.seen++
				if r.seen == r.ordinal {
					log.Printf("dropped %s frame %s (%d bytes)", dir, r, len(frame))
					return true
				}
			}
		}
		if mirror != nil && len(frame) >= 14 {
			tagged := make([]byte, 0, len(frame)+len(tags))
			tagged = append(append(append(tagged, frame[:12]...), tags...), frame[12:]...)
			if _, err := mirror.Write(tagged); err != nil {
				log.Printf("mirror: %v", err)
			}
		}
		return false
	}
	errs := make(chan error, 2)
	go func() { errs <- forward(tapA, tapB, "a2b", delay, filter) }()
	go func() { errs <- forward(tapB, tapA, "b2a", delay, filter) }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	fmt.Println("ready")
	select {
	case <-sig:
		return nil
	case err := <-errs:
		return err
	}
}

// timedFrame is a frame with the time it was read from its TAP.
type timedFrame struct {
	data []byte
	at   time.Time
}

// forward copies frames from src to dst, each leaving delay after it arrived.
// One goroutine reads, one writes, and a channel between them keeps the order,
// so the delay is the same for every frame and nothing is reordered.
func forward(src, dst *os.File, dir string, delay time.Duration, drop func(string, []byte) bool) error {
	queue := make(chan timedFrame, 8192)
	writeErr := make(chan error, 1)
	go func() {
		for f := range queue {
			if wait := time.Until(f.at.Add(delay)); wait > 0 {
				time.Sleep(wait)
			}
			if _, err := dst.Write(f.data); err != nil && !errors.Is(err, syscall.EIO) {
				writeErr <- fmt.Errorf("%s: write to %s: %w", dir, dst.Name(), err)
				return
			}
		}
	}()
	buf := make([]byte, 65536)
	for {
		n, err := src.Read(buf)
		if err != nil {
			return fmt.Errorf("%s: read from %s: %w", dir, src.Name(), err)
		}
		select {
		case err := <-writeErr:
			return err
		default:
		}
		if drop(dir, buf[:n]) {
			continue
		}
		queue <- timedFrame{data: append([]byte(nil), buf[:n]...), at: time.Now()}
	}
}

// parseTags turns "100" or "ad200,100" into the tag bytes inserted after the
// MAC addresses: TPID 0x8100 (802.1Q) or 0x88a8 (802.1ad) and the VLAN ID.
func parseTags(spec string) ([]byte, error) {
	if spec == "" {
		return nil, nil
	}
	var out []byte
	for _, t := range strings.Split(spec, ",") {
		tpid := uint16(0x8100)
		if rest, ok := strings.CutPrefix(t, "ad"); ok {
			tpid, t = 0x88a8, rest
		}
		var id int
		if _, err := fmt.Sscanf(t, "%d", &id); err != nil || id < 0 || id > 4094 {
			return nil, fmt.Errorf("mirror tag %q: want a VLAN ID 0-4094, optionally prefixed ad", t)
		}
		out = append(out, byte(tpid>>8), byte(tpid), byte(id>>8), byte(id))
	}
	return out, nil
}

// dropRule drops the ordinal-th frame in one direction that matches kind.
type dropRule struct {
	dir     string
	kind    string
	text    string // for kind "has"
	ordinal int
	seen    int
}

func (r *dropRule) String() string {
	k := r.kind
	if k == "has" {
		k = "has=" + r.text
	}
	return fmt.Sprintf("%s:%s:%d", r.dir, k, r.ordinal)
}

func parseDropRule(s string) (*dropRule, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return nil, fmt.Errorf("drop rule %q: want DIR:KIND:N", s)
	}
	r := &dropRule{dir: parts[0], kind: parts[1]}
	if r.dir != "a2b" && r.dir != "b2a" {
		return nil, fmt.Errorf("drop rule %q: direction must be a2b or b2a", s)
	}
	if text, ok := strings.CutPrefix(r.kind, "has="); ok {
		r.kind, r.text = "has", text
	}
	switch r.kind {
	case "syn", "synack", "data", "fin", "rst", "has":
	default:
		return nil, fmt.Errorf("drop rule %q: unknown kind %q", s, r.kind)
	}
	if _, err := fmt.Sscanf(parts[2], "%d", &r.ordinal); err != nil || r.ordinal < 1 {
		return nil, fmt.Errorf("drop rule %q: N must be a positive integer", s)
	}
	return r, nil
}

func (r *dropRule) matches(frame []byte) bool {
	seg, ok := parseTCP(frame)
	if !ok {
		return false
	}
	switch r.kind {
	case "syn":
		return seg.flags&flagSYN != 0 && seg.flags&flagACK == 0
	case "synack":
		return seg.flags&flagSYN != 0 && seg.flags&flagACK != 0
	case "data":
		return len(seg.payload) > 0
	case "fin":
		return seg.flags&flagFIN != 0
	case "rst":
		return seg.flags&flagRST != 0
	case "has":
		return strings.Contains(string(seg.payload), r.text)
	}
	return false
}
