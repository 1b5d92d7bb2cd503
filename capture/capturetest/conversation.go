package capturetest

import (
	"net/netip"

	"github.com/connscope/connscope/capture"
)

// Conversation builds the decoded segments of one TCP connection, the input
// reassembly takes, without a capture file: a test says what each side
// sends and the builder keeps both sides' sequence numbers, numbering frames
// from 1 and spacing them one millisecond apart. Initial sequence numbers
// are 1000 (client) and 5000 (server).
type Conversation struct {
	Client, Server netip.AddrPort
	Segments       []capture.Segment

	clientSeq, serverSeq uint32
	time                 int64
}

// NewConversation starts an empty conversation between client and server.
func NewConversation(client, server netip.AddrPort) *Conversation {
	return &Conversation{Client: client, Server: server, clientSeq: 1000, serverSeq: 5000}
}

// Open adds the three-way handshake.
func (c *Conversation) Open() {
	c.add(true, c.clientSeq, 0, capture.FlagSYN, nil)
	c.add(false, c.serverSeq, c.clientSeq+1, capture.FlagSYN|capture.FlagACK, nil)
	c.clientSeq++
	c.serverSeq++
	c.add(true, c.clientSeq, c.serverSeq, capture.FlagACK, nil)
}

// Send adds one segment of payload from the client (fromClient) or the
// server, acknowledging everything the other side sent so far.
func (c *Conversation) Send(fromClient bool, flags capture.TCPFlags, payload []byte) {
	seq, ack := c.serverSeq, c.clientSeq
	if fromClient {
		seq, ack = c.clientSeq, c.serverSeq
	}
	c.add(fromClient, seq, ack, flags|capture.FlagACK, payload)
	if fromClient {
		c.clientSeq += uint32(len(payload))
	} else {
		c.serverSeq += uint32(len(payload))
	}
}

// SendAt adds a segment of payload that starts offset bytes past the side's
// next sequence number, without advancing it (for a message cut into
// segments sent before the sender's sequence number moves on).
func (c *Conversation) SendAt(fromClient bool, offset uint32, flags capture.TCPFlags, payload []byte) {
	seq, ack := c.serverSeq, c.clientSeq
	if fromClient {
		seq, ack = c.clientSeq, c.serverSeq
	}
	c.add(fromClient, seq+offset, ack, flags|capture.FlagACK, payload)
}

// Advance moves a side's next sequence number on by n bytes.
func (c *Conversation) Advance(fromClient bool, n int) {
	if fromClient {
		c.clientSeq += uint32(n)
	} else {
		c.serverSeq += uint32(n)
	}
}

// Ack adds a pure ACK from one side.
func (c *Conversation) Ack(fromClient bool) { c.Send(fromClient, capture.FlagACK, nil) }

// Close adds the client's FIN, the server's FIN and the client's last ACK.
func (c *Conversation) Close() {
	c.add(true, c.clientSeq, c.serverSeq, capture.FlagACK|capture.FlagFIN, nil)
	c.add(false, c.serverSeq, c.clientSeq+1, capture.FlagACK|capture.FlagFIN, nil)
	c.add(true, c.clientSeq+1, c.serverSeq+1, capture.FlagACK, nil)
}

func (c *Conversation) add(fromClient bool, seq, ack uint32, flags capture.TCPFlags, payload []byte) {
	src, dst := c.Server, c.Client
	if fromClient {
		src, dst = c.Client, c.Server
	}
	c.time += 1e6
	c.Segments = append(c.Segments, capture.Segment{
		Frame: uint64(len(c.Segments) + 1), Time: c.time, Src: src, Dst: dst,
		Seq: seq, Ack: ack, Flags: flags, Window: 65535,
		Payload: payload, PayloadLength: len(payload),
	})
}
