package capture

import (
	"math"
	"math/bits"
)

// tsConverter turns a pcapng 64-bit timestamp into nanoseconds since the
// epoch. if_tsresol gives the unit: 10^-n seconds, or 2^-n seconds when its
// top bit is set; if_tsoffset adds whole seconds.
type tsConverter struct {
	pow2      bool
	shift     uint8  // pow2: the unit is 2^-shift s
	mul, div  uint64 // decimal: ns = ts*mul, or ts/div (both 0: always 0)
	offsetSec int64
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func newTSConverter(resol byte) tsConverter {
	if resol&0x80 != 0 {
		return tsConverter{pow2: true, shift: resol & 0x7f}
	}
	e := int(resol)
	switch {
	case e <= 9:
		return tsConverter{mul: pow10[9-e]}
	case e-9 < len(pow10):
		return tsConverter{div: pow10[e-9]}
	}
	return tsConverter{} // finer than 10^-28 s: every timestamp is below 1 ns
}

// nanos converts ts. ok is false when the time does not fit in an int64
// count of nanoseconds (before 1677 or after 2262): a damaged timestamp or
// offset, which would otherwise wrap round to an unrelated time.
func (c tsConverter) nanos(ts uint64) (ns int64, ok bool) {
	var (
		u        uint64
		overflow bool
	)
	switch {
	case c.pow2 && c.shift == 0:
		hi, lo := bits.Mul64(ts, 1e9)
		u, overflow = lo, hi != 0
	case c.pow2 && c.shift < 64:
		s := c.shift
		sec, frac := ts>>s, ts&(1<<s-1)
		hi, lo := bits.Mul64(frac, 1e9)
		secHi, secNs := bits.Mul64(sec, 1e9)
		var carry uint64
		u, carry = bits.Add64(secNs, lo>>s|hi<<(64-s), 0)
		overflow = secHi != 0 || carry != 0
	case c.pow2:
		hi, _ := bits.Mul64(ts, 1e9)
		u = hi >> (c.shift - 64)
	case c.mul != 0:
		hi, lo := bits.Mul64(ts, c.mul)
		u, overflow = lo, hi != 0
	case c.div != 0:
		u = ts / c.div
	}
	if overflow || u > math.MaxInt64 {
		return 0, false
	}
	const nsPerSec = 1_000_000_000
	if c.offsetSec > math.MaxInt64/nsPerSec || c.offsetSec < math.MinInt64/nsPerSec {
		return 0, false
	}
	off := c.offsetSec * nsPerSec
	ns = int64(u) + off
	if off > 0 && ns < int64(u) {
		return 0, false // only a positive offset can overflow a non-negative time
	}
	return ns, true
}
