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
		if got := c.nanos(tc.ts); got != tc.want {
			t.Errorf("%s: nanos(%d) = %d, want %d", tc.desc, tc.ts, got, tc.want)
		}
	}
}
