// Command loadgen makes HTTP/1.1 traffic for connscope's benchmark
// captures: an HTTP server and a client that opens many short connections
// (one request each, the server closing) and some keep-alive connections
// with many requests and larger responses. It only ever talks to the
// address it is given, which bench/record.sh places inside a private
// network namespace.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	mode := flag.String("mode", "client", "server or client")
	addr := flag.String("addr", "127.0.0.1:8080", "address to serve on / connect to")
	short := flag.Int("short", 50000, "client: short connections (one request each)")
	keepalive := flag.Int("keepalive", 200, "client: keep-alive connections")
	perConn := flag.Int("requests", 200, "client: requests per keep-alive connection")
	workers := flag.Int("workers", 8, "client: concurrent workers")
	pause := flag.Duration("pause", 0, "client: pause between requests on a keep-alive connection (paces the load so the capture keeps up)")
	flag.Parse()
	switch *mode {
	case "server":
		serve(*addr)
	case "client":
		run(*addr, *short, *keepalive, *perConn, *workers, *pause)
	default:
		log.Fatalf("unknown -mode %q", *mode)
	}
}

// serve answers GET /?size=N with N bytes; /close?size=N also closes.
func serve(addr string) {
	body := make([]byte, 1<<20)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		n = min(max(n, 0), len(body))
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		_, _ = w.Write(body[:n])
	})
	log.Fatal((&http.Server{Addr: addr, Handler: h, IdleTimeout: 30 * time.Second}).ListenAndServe())
}

func run(addr string, short, keepalive, perConn, workers int, pause time.Duration) {
	var done atomic.Int64
	jobs := make(chan func() error)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				if err := job(); err != nil {
					log.Print(err)
				}
				done.Add(1)
			}
		}()
	}
	start := time.Now()
	for i := range short {
		size := 200 + (i%7)*300
		jobs <- func() error { return oneShot(addr, size) }
		if keepalive > 0 && i%(short/keepalive+1) == 0 {
			jobs <- func() error { return reuse(addr, perConn, pause) }
		}
	}
	close(jobs)
	wg.Wait()
	fmt.Printf("%d jobs in %s\n", done.Load(), time.Since(start).Round(time.Millisecond))
}

// oneShot sends one request on a new connection; the server closes.
func oneShot(addr string, size int) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /close?size=%d HTTP/1.1\r\nHost: bench\r\nUser-Agent: connscope-loadgen\r\n\r\n", size)
	_, err = io.Copy(io.Discard, c)
	return err
}

// reuse sends n requests on one keep-alive connection with larger bodies,
// pausing between them.
func reuse(addr string, n int, pause time.Duration) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range n {
		size := 1000 + (i%10)*20000
		fmt.Fprintf(c, "GET /?size=%d HTTP/1.1\r\nHost: bench\r\n\r\n", size)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if pause > 0 {
			time.Sleep(pause)
		}
	}
	return nil
}
