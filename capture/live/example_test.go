package live_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/connscope/connscope/capture/live"
	"github.com/connscope/connscope/capture/pcapngw"
)

// Capture HTTP traffic on eth0 for at most a minute or until Ctrl-C,
// writing it to a pcapng file while it is read, then report kernel drops.
func ExampleOpen() {
	src, err := live.Open("eth0", live.Options{Filter: "tcp port 80", Duration: time.Minute})
	if err != nil {
		// errors.Is(err, live.ErrPermission), live.ErrNoSuchInterface, ...
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer src.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	src.StopWhenDone(ctx)

	w, err := pcapngw.Create("session.pcapng", "connscope", pcapngw.Interface{
		Name: src.Interface(), LinkType: src.LinkType(), Snaplen: src.Snaplen(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	var first, last int64
	for {
		p, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			break
		}
		if first == 0 {
			first = p.Time
		}
		last = p.Time
		if err := w.WritePacket(p); err != nil {
			fmt.Fprintln(os.Stderr, err)
			break
		}
		// ... decode p.Data and feed the analysis here ...
	}
	received, drops := src.Stats()
	w.WriteStats(pcapngw.Stats{Start: first, End: last, Received: received, Dropped: drops})
	if err := w.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	if drops > 0 {
		fmt.Fprintf(os.Stderr, "warning: the kernel dropped %d of %d packets; the analysis is incomplete\n", drops, received)
	}
}
