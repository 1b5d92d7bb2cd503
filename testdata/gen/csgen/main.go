// Command csgen is the client and server half of connscope's real-kernel
// capture generator (testdata/gen/gen.sh runs it inside network namespaces
// while tcpdump records).
//
//	csgen server [-kind origin|dumbproxy|connectproxy] [-nagle] [-idle D] [-rcvbuf N] ADDR
//	csgen client SCENARIO ADDR
//	csgen list
//
// The server side is one configurable HTTP/1.x origin (see serveOrigin) or
// one of two proxies in front of an origin on 127.0.0.1:8080 in the same
// namespace. Each client scenario is a small Go function that writes exact
// request bytes with the socket options the scenario needs, so the Linux
// stacks on both sides do the real TCP work: handshakes, Nagle, delayed ACKs,
// slow start, retransmission, FIN and RST.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"sort"
	"time"
)

var start = time.Now()

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%7.3fs ", time.Since(start).Seconds())
	fmt.Fprintf(os.Stderr, format+"\n", args...)
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("csgen: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: csgen server|client|list ...")
	}
	var err error
	switch os.Args[1] {
	case "server":
		err = runServer(os.Args[2:])
	case "client":
		err = runClient(os.Args[2:])
	case "list":
		names := make([]string, 0, len(scenarios))
		for name := range scenarios {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Println(n)
		}
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	kind := fs.String("kind", "origin", "origin, dumbproxy or connectproxy")
	nagle := fs.Bool("nagle", false, "enable Nagle on accepted connections (clear TCP_NODELAY)")
	idle := fs.Duration("idle", 0, "close keep-alive connections idle this long (0: never)")
	rcvbuf := fs.Int("rcvbuf", 0, "SO_RCVBUF on the listening socket")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("server: need one listen address")
	}
	cfg := serverConfig{nagle: *nagle, idle: *idle}
	ln, err := listen(fs.Arg(0), sockOpts{rcvBuf: *rcvbuf})
	if err != nil {
		return err
	}
	origin := func(c *net.TCPConn) { serveOrigin(c, cfg) }
	switch *kind {
	case "origin":
		return acceptLoop(ln, origin)
	case "dumbproxy", "connectproxy":
		const originAddr = "127.0.0.1:8080"
		oln, err := listen(originAddr, sockOpts{})
		if err != nil {
			return err
		}
		go acceptLoop(oln, origin)
		if *kind == "dumbproxy" {
			return acceptLoop(ln, func(c *net.TCPConn) { serveDumbProxy(c, originAddr) })
		}
		return acceptLoop(ln, serveConnectProxy)
	}
	return fmt.Errorf("server: unknown kind %q", *kind)
}

func runClient(args []string) error {
	if len(args) != 2 {
		return fmt.Errorf("client: need SCENARIO ADDR")
	}
	run, ok := scenarios[args[0]]
	if !ok {
		return fmt.Errorf("client: unknown scenario %q (csgen list shows them)", args[0])
	}
	host, _, err := net.SplitHostPort(args[1])
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	hostHeader = host
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		hostHeader = "[" + host + "]"
	}
	logf("client %s -> %s", args[0], args[1])
	if err := run(args[1]); err != nil {
		return fmt.Errorf("scenario %s: %w", args[0], err)
	}
	logf("client %s done", args[0])
	return nil
}

// scenarios maps a scenario name to its client. Each file scen_*.go adds its
// own in an init function.
var scenarios = map[string]func(addr string) error{}
