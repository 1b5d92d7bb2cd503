package bpf

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/connscope/connscope/capture"
)

// tcpdumpLinkNames maps link types to the DLT names tcpdump's -y takes.
var tcpdumpLinkNames = map[capture.LinkType]string{
	capture.LinkTypeNull:      "NULL",
	capture.LinkTypeEthernet:  "EN10MB",
	capture.LinkTypeRaw:       "RAW",
	capture.LinkTypeLoop:      "LOOP",
	capture.LinkTypeLinuxSLL:  "LINUX_SLL",
	capture.LinkTypeIPv4:      "IPV4",
	capture.LinkTypeIPv6:      "IPV6",
	capture.LinkTypeLinuxSLL2: "LINUX_SLL2",
}

// tcpdumpTimeout bounds the compiler run; compiling takes milliseconds.
const tcpdumpTimeout = 10 * time.Second

// CompileTcpdump compiles with `tcpdump -ddd -y LINKTYPE -s SNAPLEN expr`,
// which uses libpcap's compiler without opening any interface, and parses
// the printed program. Errors carry tcpdump's own message.
func CompileTcpdump(expr string, linkType capture.LinkType, snaplen int) ([]RawInstruction, error) {
	snap, err := checkSnaplen(snaplen)
	if err != nil {
		return nil, err
	}
	name, ok := tcpdumpLinkNames[linkType]
	if !ok {
		return nil, fmt.Errorf("bpf: link type %d has no tcpdump name", linkType)
	}
	ctx, cancel := context.WithTimeout(context.Background(), tcpdumpTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "tcpdump", "-ddd", "-y", name, "-s", strconv.FormatUint(uint64(snap), 10), "--", expr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		msg = strings.TrimPrefix(msg, "tcpdump: ")
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("bpf: filter %q: tcpdump: %s", expr, msg)
	}
	prog, err := ParseDDD(stdout.String())
	if err != nil {
		return nil, fmt.Errorf("bpf: filter %q: reading tcpdump's program: %w", expr, err)
	}
	return prog, nil
}
