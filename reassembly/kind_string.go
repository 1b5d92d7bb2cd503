package reassembly

import "strings"

var kindNames = [...]string{
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"previous_segment_not_captured", "duplicate_ack", "zero_window", "zero_window_probe",
	"window_full", "keep_alive", "capture_duplicate", "window_update",
	"ignored_rst", // connscope's own: Wireshark has no such flag
}

// String names the kinds in k with Wireshark's tcp.analysis spellings
// (KindIgnoredRST, which is connscope's, as ignored_rst), joined by "|" ("" for none).
func (k SegmentKind) String() string {
	var b strings.Builder
	for i, n := range kindNames {
		if k&(1<<i) != 0 {
			if b.Len() > 0 {
				b.WriteByte('|')
			}
			b.WriteString(n)
		}
	}
	return b.String()
}

// Has reports whether every kind in x is set in k.
func (k SegmentKind) Has(x SegmentKind) bool { return k&x == x }
