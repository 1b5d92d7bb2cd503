package capture

import "math/bits"

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

func (c tsConverter) nanos(ts uint64) int64 {
	var ns uint64
	switch {
	case c.pow2 && c.shift == 0:
		ns = ts * 1e9
	case c.pow2 && c.shift < 64:
		s := c.shift
		sec, frac := ts>>s, ts&(1<<s-1)
		hi, lo := bits.Mul64(frac, 1e9)
		ns = sec*1e9 + (lo>>s | hi<<(64-s))
	case c.pow2:
		hi, _ := bits.Mul64(ts, 1e9)
		ns = hi >> (c.shift - 64)
	case c.mul != 0:
		ns = ts * c.mul
	case c.div != 0:
		ns = ts / c.div
	}
	return int64(ns) + c.offsetSec*1e9
}
