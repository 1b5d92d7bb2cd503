//go:build linux && !libpcap

package live

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/connscope/connscope/capture"
)

// linkTypeFor maps a device's ARPHRD_ type to the link type of the frames
// a SOCK_RAW packet socket delivers for it.
func linkTypeFor(hatype uint16) (capture.LinkType, error) {
	switch hatype {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return capture.LinkTypeEthernet, nil
	case unix.ARPHRD_NONE, unix.ARPHRD_TUNNEL, unix.ARPHRD_TUNNEL6, unix.ARPHRD_SIT, unix.ARPHRD_IPGRE, unix.ARPHRD_PPP, unix.ARPHRD_RAWIP:
		// No link-layer header: frames start with the IP header.
		return capture.LinkTypeRaw, nil
	}
	return 0, fmt.Errorf("device type ARPHRD %d: %w (build with -tags libpcap to capture it)", hatype, ErrUnsupported)
}

// openError explains failures to open a capture, turning a missing
// privilege into advice.
func openError(iface, what string, err error) error {
	if what != "" {
		err = fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("live: interface %s: %w: %w", iface, ErrPermission, err)
	}
	return fmt.Errorf("live: interface %s: %w", iface, err)
}

// noSuchInterface lists the interfaces that exist, so the user can pick.
func noSuchInterface(iface string, cause error) error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return fmt.Errorf("live: interface %q: %w (%w)", iface, ErrNoSuchInterface, cause)
	}
	names := make([]string, 0, len(ifaces))
	for _, ifi := range ifaces {
		names = append(names, ifi.Name)
	}
	return fmt.Errorf("live: interface %q: %w; available: %s", iface, ErrNoSuchInterface, strings.Join(names, ", "))
}
