// Command loadgen makes HTTP/1.1 traffic for connscope's benchmark
// captures: an HTTP server and a client that opens many short connections
// (one request each, the server closing) and some keep-alive connections
// with many requests and larger responses (or, for the keep-alive-heavy
// capture, small responses to browser-like requests). It only ever talks
// to the address it is given, which bench/record.sh places inside a
// private network namespace.
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
	kaMin := flag.Int("ka-min", 1000, "client: smallest response body on a keep-alive connection")
	kaMax := flag.Int("ka-max", 181000, "client: largest response body on a keep-alive connection (ten sizes from ka-min to ka-max, in turn)")
	browser := flag.Bool("browser", false, "client: keep-alive requests carry a browser's dozen header fields instead of Host alone")
	flag.Parse()
	ka := keepAliveLoad{perConn: *perConn, pause: *pause, minSize: *kaMin, maxSize: max(*kaMax, *kaMin), browser: *browser}
	switch *mode {
	case "server":
		serve(*addr)
	case "client":
		run(*addr, *short, *keepalive, *workers, ka)
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

// keepAliveLoad is what each keep-alive connection sends.
type keepAliveLoad struct {
	perConn          int           // requests per connection
	pause            time.Duration // between requests
	minSize, maxSize int           // response bodies cycle through ten sizes between them
	browser          bool          // browser-like request headers
}

func run(addr string, short, keepalive, workers int, ka keepAliveLoad) {
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
			jobs <- func() error { return reuse(addr, ka) }
		}
	}
	if short == 0 {
		// Keep-alive connections only.
		for range keepalive {
			jobs <- func() error { return reuse(addr, ka) }
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

// browserHeaders follow the request line of a browser-like request: what
// a browser sends for an image on a page it already has open.
// httpflow's BenchmarkParseKeepAlive parses the same request
// (loadgenRequest in httpflow/bench_test.go, which a main package cannot
// share): change the two together.
const browserHeaders = "Host: bench\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n" +
	"Accept: image/avif,image/webp,*/*\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\n" +
	"Referer: http://bench/\r\n" +
	"Cookie: session=8f2a9c1e77b04d3f; theme=dark\r\n" +
	"Sec-Fetch-Dest: image\r\n" +
	"Sec-Fetch-Mode: no-cors\r\n\r\n"

// reuse sends ka.perConn requests on one keep-alive connection, pausing
// between them.
func reuse(addr string, ka keepAliveLoad) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	br := bufio.NewReader(c)
	for i := range ka.perConn {
		size := ka.minSize + (i%10)*(ka.maxSize-ka.minSize)/9
		if ka.browser {
			fmt.Fprintf(c, "GET /img/%d.png?size=%d HTTP/1.1\r\n%s", i, size, browserHeaders)
		} else {
			fmt.Fprintf(c, "GET /?size=%d HTTP/1.1\r\nHost: bench\r\n\r\n", size)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if ka.pause > 0 {
			time.Sleep(ka.pause)
		}
	}
	return nil
}
