package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram is a fixed-size log-linear latency histogram (HDR-like).
//
// Values are nanoseconds. Values below subCount are recorded exactly; above
// that, each power-of-two range is split into subCount/2 linear sub-buckets,
// so a bucket's width is at most 1/(subCount/2) of its lower bound: with
// subBits = 7 the relative error of a reported percentile is below 1.6 %.
// Memory is fixed (a few KiB) whatever the number of recorded values.
type histogram struct {
	counts [numBuckets]uint64
	total  uint64
	min    int64
	max    int64
	sum    float64 // nanoseconds; float so it cannot overflow
}

const (
	subBits    = 7
	subCount   = 1 << subBits // 128
	halfCount  = subCount / 2 // 64 sub-buckets per power of two above the linear range
	numBuckets = subCount + (63-subBits+1)*halfCount
)

// bucketIndex maps a non-negative value to its bucket.
func bucketIndex(v int64) int {
	if v < 0 {
		v = 0
	}
	if v < subCount {
		return int(v)
	}
	// shift makes v>>shift fall in [halfCount, subCount).
	shift := bits.Len64(uint64(v)) - subBits
	return subCount + (shift-1)*halfCount + int(v>>uint(shift)) - halfCount
}

// bucketBounds returns the half-open range [lo, hi) of values in bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < subCount {
		return int64(i), int64(i) + 1
	}
	shift := (i-subCount)/halfCount + 1
	sub := int64((i-subCount)%halfCount + halfCount)
	lo = sub << uint(shift)
	hi = (sub + 1) << uint(shift)
	if hi <= 0 { // top bucket overflows int64
		hi = math.MaxInt64
	}
	return lo, hi
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	}
	h.counts[bucketIndex(v)]++
	if h.total == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.total++
	h.sum += float64(v)
}

func (h *histogram) merge(o *histogram) {
	if o.total == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.total == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.total += o.total
	h.sum += o.sum
}

// percentile returns the value at percentile p (0..100): the highest value
// equivalent to the bucket holding the ceil(p/100*total)-th smallest sample,
// clamped to the recorded min and max. It returns 0 for an empty histogram.
func (h *histogram) percentile(p float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	if p <= 0 {
		return time.Duration(h.min)
	}
	if p >= 100 {
		return time.Duration(h.max)
	}
	rank := uint64(math.Ceil(p / 100 * float64(h.total)))
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			v := hi - 1
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return time.Duration(v)
		}
	}
	return time.Duration(h.max)
}

func (h *histogram) mean() time.Duration {
	if h.total == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.total))
}
