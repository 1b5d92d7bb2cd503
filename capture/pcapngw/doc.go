// Package pcapngw writes captures in pcapng format, for `connscope analyze
// -i IFACE -w FILE`: the live session can be read again later, by connscope
// or by Wireshark.
//
// A pcapng file is a sequence of blocks, each framed by its type and its
// total length (repeated at the end so readers can walk backwards). A
// Section Header Block (SHB) opens the file and fixes the byte order (by its
// byte-order magic 0x1A2B3C4D); an Interface Description Block (IDB)
// declares an interface with its link type and snap length, and its
// if_tsresol option says in what unit packet times are counted — here 10^-9
// s, so nanosecond capture times survive; an Enhanced Packet Block (EPB)
// carries one frame with its interface number, 64-bit timestamp, captured
// and original length. An Interface Statistics Block (ISB) records the
// kernel's receive and drop counters at the end. Writer writes the host's
// byte order, as pcapng allows; readers detect it from the magic.
package pcapngw
