package capture

import "testing"

func TestTSConverter(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		resol  byte
		offset int64
		ts     uint64
		want   int64
	}{
		{"default microseconds", 6, 0, 1_500_000_000_123_456, 1_500_000_000_123_456_000},
		{"seconds", 0, 0, 7, 7e9},
		{"nanoseconds", 9, 0, 1_500_000_000_123_456_789, 1_500_000_000_123_456_789},
		{"picoseconds truncate to ns", 12, 0, 1_000_000_000_001_999, 1_000_000_000_001},
		{"10^-19 s", 19, 0, 1e19 - 1, 999_999_999},
		{"finer than 10^-28 s is always 0", 30, 0, 1 << 63, 0},
		{"2^-0 s", 0x80, 0, 3, 3e9},
		{"2^-1 s", 0x81, 0, 3, 1_500_000_000},
		{"2^-20 s", 0x80 | 20, 0, 5<<20 | 1<<18, 5_250_000_000},
		{"2^-30 s", 0x80 | 30, 0, 1 << 29, 500_000_000},
		{"2^-63 s", 0x80 | 63, 0, 1 << 62, 500_000_000},
		{"2^-64 s", 0x80 | 64, 0, 1 << 63, 500_000_000},
		{"2^-100 s", 0x80 | 100, 0, 1 << 63, 0},
		{"offset", 6, 1000, 1_000_000, 1001e9},
		{"negative offset", 9, -5, 10e9, 5e9},
	} {
		c := newTSConverter(tc.resol)
		c.offsetSec = tc.offset
		if got, ok := c.nanos(tc.ts); got != tc.want || !ok {
			t.Errorf("%s: nanos(%d) = %d, %v, want %d, true", tc.desc, tc.ts, got, ok, tc.want)
		}
	}
}

// TestTSConverterOutOfRange: times a 64-bit count of nanoseconds since 1970
// cannot hold (before 1677 or after 2262, from a damaged timestamp or
// offset) are reported as such instead of wrapping round to another time.
func TestTSConverterOutOfRange(t *testing.T) {
	for _, tc := range []struct {
		desc   string
		resol  byte
		offset int64
		ts     uint64
	}{
		{"seconds past 2262", 0, 0, 1 << 40},
		{"2^0 s past 2262", 0x80, 0, 1<<63 + 12345},
		{"microseconds past 2262", 6, 0, 1 << 63},
		{"nanoseconds past 2262", 9, 0, 1 << 63},
		{"2^-20 s past 2262", 0x80 | 20, 0, 1 << 60},
		{"offset past 2262", 9, 1 << 40, 0},
		{"offset before 1677", 9, -(1 << 40), 0},
		{"time and offset together past 2262", 9, 9e9, 1e18},
	} {
		c := newTSConverter(tc.resol)
		c.offsetSec = tc.offset
		if got, ok := c.nanos(tc.ts); ok {
			t.Errorf("%s: nanos(%d) = %d, true; want out of range", tc.desc, tc.ts, got)
		}
	}
}
