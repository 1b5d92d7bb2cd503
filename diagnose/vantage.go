package diagnose

import "github.com/connscope/connscope/reassembly"

// Vantage points, as returned by Vantage.
const (
	VantageClient  = "client"  // the capture was taken near the client
	VantageServer  = "server"  // near the server
	VantageMiddle  = "middle"  // somewhere in between
	VantageUnknown = "unknown" // the handshake was not seen whole
)

// vantageRatio is how many times longer one half of the handshake must be
// than the other to place the capture point at one end.
const vantageRatio = 3

// Vantage infers where the capture was taken for a connection, from the
// handshake timing. The capture point sees SYN→SYN/ACK as the round trip
// from itself to the server and back, and SYN/ACK→ACK as the round trip to
// the client and back. Near the client the first is the whole RTT and the
// second tiny; near the server the reverse; in between both are sizeable.
func Vantage(c *reassembly.Connection) string {
	if c == nil || c.RolesInferred {
		return VantageUnknown
	}
	toServer, toClient, ok := handshakeLegs(&c.Handshake)
	if !ok {
		return VantageUnknown
	}
	switch {
	case toServer >= vantageRatio*toClient:
		return VantageClient
	case toClient >= vantageRatio*toServer:
		return VantageServer
	}
	return VantageMiddle
}

// handshakeLegs splits the handshake seen at the capture point into the
// round trip toward the server (SYN→SYN/ACK) and toward the client
// (SYN/ACK→ACK). ok is false unless all three were seen in order.
func handshakeLegs(h *reassembly.Handshake) (toServer, toClient int64, ok bool) {
	if h.SYNFrame == 0 || h.SYNACKFrame == 0 || h.ACKFrame == 0 {
		return 0, 0, false
	}
	toServer, toClient = h.SYNACKTime-h.SYNTime, h.ACKTime-h.SYNACKTime
	if toServer < 0 || toClient < 0 || toServer+toClient == 0 {
		return 0, 0, false
	}
	return toServer, toClient, true
}
