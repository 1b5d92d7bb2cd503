package diagnose

import (
	"testing"

	"github.com/connscope/connscope/reassembly"
)

// Connection returns the findings its rules made, and Finish returns them
// again among all the others.
func TestConnectionReturnsItsFindings(t *testing.T) {
	e, err := NewEngine(Config{})
	if err != nil {
		t.Fatal(err)
	}
	var streamed int
	for _, ci := range randomConnInfosForStream() {
		streamed += len(e.Connection(ci))
	}
	all := e.Finish()
	perConn := 0
	for _, f := range all {
		if r := Lookup(f.Rule); r != nil && r.Scope == ScopeConnection {
			perConn++
		}
	}
	if streamed != perConn {
		t.Errorf("Connection returned %d findings; Finish lists %d from connection-scope rules", streamed, perConn)
	}
}

// randomConnInfosForStream builds a connection that a rule flags: a
// connection reset by the server with a request never answered.
func randomConnInfosForStream() []*ConnInfo {
	c := &reassembly.Connection{ID: 1, Close: reassembly.CloseRST, RSTBy: reassembly.RoleServer, State: "RSTR"}
	c.Handshake.SYNRetransmissions = 2
	c.Handshake.FirstSYNTime = 1e9
	c.Handshake.SYNTime = 4e9
	c.Handshake.SYNFrame = 3
	c.Handshake.SYNACKFrame = 4
	c.Handshake.SYNACKTime = 4e9 + 1e6
	c.Handshake.ACKFrame = 5
	c.Handshake.ACKTime = 4e9 + 2e6
	c.Start, c.End = 1e9, 5e9
	return []*ConnInfo{{Conn: c}}
}
