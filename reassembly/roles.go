package reassembly

import (
	"net/netip"

	"github.com/connscope/connscope/capture"
)

// wellKnownServerPorts are ports that name a server even above 1024.
var wellKnownServerPorts = map[uint16]bool{
	80: true, 443: true, 8000: true, 8008: true, 8080: true, 8081: true,
	8443: true, 8888: true, 3128: true, 1080: true,
}

// inferRoles decides which endpoint is the client. The SYN sender is; when
// the first segment is not a SYN the roles are guessed, in this order: the
// SYN/ACK sender is the server; the client of the previous connection on
// this 4-tuple is the client again; an endpoint seen answering handshakes
// is the server; a well-known HTTP port, else a port below 1024 (the lower
// one if both), is the server; otherwise the first sender is the client.
func (a *Assembler) inferRoles(s *capture.Segment, key connKey) (client, server netip.AddrPort, inferred bool) {
	src, dst := s.Src, s.Dst
	srcIsClient := func(yes bool) (netip.AddrPort, netip.AddrPort, bool) {
		if yes {
			return src, dst, true
		}
		return dst, src, true
	}
	syn, ack := s.Flags.Has(synFlags), s.Flags.Has(ackFlags)
	switch {
	case syn && !ack:
		return src, dst, false
	case syn && ack:
		return srcIsClient(false)
	}
	if prev, ok := a.memory.get(key, a.now, a.cfg.ReuseMemory); ok {
		return srcIsClient(prev.clientIsLo == key.isLo(src))
	}
	_, srcServes := a.servers[src]
	_, dstServes := a.servers[dst]
	if srcServes != dstServes {
		return srcIsClient(dstServes)
	}
	sw, dw := wellKnownServerPorts[src.Port()], wellKnownServerPorts[dst.Port()]
	if sw != dw {
		return srcIsClient(dw)
	}
	sp, dp := src.Port(), dst.Port()
	if sp < 1024 || dp < 1024 {
		return srcIsClient(dp <= sp)
	}
	return srcIsClient(true)
}

// reuseMemory remembers recently released 4-tuples so that a later
// connection on the same tuple can be marked ReusedTuple and keep the
// roles. It is bounded by count and by age (Config.MaxRemembered,
// Config.ReuseMemory), so it does not grow with the capture. Tuples are kept
// by their 64-bit hash: 40 bytes an entry, and a collision (about 2^-64 per
// pair) would only mislabel a connection as reused.
type reuseMemory struct {
	byHash map[uint64]remembered
	queue  []rememberedKey // in release order
	head   int
}

type remembered struct {
	id         int
	end        int64
	at         int64 // capture time it was remembered
	clientIsLo bool  // the client was the key's lower endpoint
}

type rememberedKey struct {
	hash uint64
	id   int
	at   int64
}

func newReuseMemory() reuseMemory {
	return reuseMemory{byHash: make(map[uint64]remembered, 1024)}
}

func (m *reuseMemory) remember(key connKey, id int, end int64, client netip.AddrPort, now int64, cfg Config) {
	h := key.hash()
	m.byHash[h] = remembered{id: id, end: end, at: now, clientIsLo: key.isLo(client)}
	m.queue = append(m.queue, rememberedKey{hash: h, id: id, at: now})
	for m.head < len(m.queue) {
		old := m.queue[m.head]
		if len(m.queue)-m.head <= cfg.MaxRemembered && now-old.at <= cfg.ReuseMemory {
			break
		}
		if r, ok := m.byHash[old.hash]; ok && r.id == old.id {
			delete(m.byHash, old.hash)
		}
		m.head++
	}
	if m.head > 1024 && m.head*2 > len(m.queue) {
		n := copy(m.queue, m.queue[m.head:])
		m.queue = m.queue[:n]
		m.head = 0
	}
}

// get returns what is remembered of the last connection on key, if it was
// released no longer than ttl before now.
func (m *reuseMemory) get(key connKey, now, ttl int64) (remembered, bool) {
	if len(m.byHash) == 0 {
		return remembered{}, false
	}
	r, ok := m.byHash[key.hash()]
	if !ok || now-r.at > ttl {
		return remembered{}, false
	}
	return r, true
}
