package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: each power-of-two range of
// values is split into 2^subBits linear buckets, so a recorded value is
// known to within 1/2^subBits (0.79 %) of itself. Values below
// 2^(subBits+1) microseconds are recorded exactly.
const subBits = 7

const (
	subCount = 1 << subBits       // linear buckets per power of two
	exactMax = 1 << (subBits + 1) // values below this have their own bucket
)

// maxValueUS is the largest latency a histogram tells apart (about 2.3
// hours); larger values are recorded in the last bucket and in Max.
const maxValueUS = int64(1)<<33 - 1

var nBuckets = bucketIndex(maxValueUS) + 1

// histogramFormat identifies the serialised form of a Histogram; Merge
// refuses histograms of another format, so merges are always exact.
const histogramFormat = "releasegate.loglinear/v1;unit=us;sub-bits=7"

// Histogram is a log-linear latency histogram in the manner of HDR
// histograms: bounded relative error (RelativeError), constant memory
// however many values are recorded, and exact merging (bucket counts add).
// The zero value is ready to use. It is not safe for concurrent use.
type Histogram struct {
	counts []uint64
	n      uint64
	sumUS  float64
	minUS  int64
	maxUS  int64
}

// relativeError is the largest relative difference between a recorded
// value and the value a quantile reports for it.
const relativeError = 1.0 / subCount

// bucketIndex maps a value in microseconds to its bucket.
func bucketIndex(v int64) int {
	if v < exactMax {
		return int(v)
	}
	if v > maxValueUS {
		v = maxValueUS
	}
	shift := bits.Len64(uint64(v)) - (subBits + 1) // v>>shift is in [subCount, 2*subCount)
	return exactMax + (shift-1)*subCount + int(v>>shift) - subCount
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < exactMax {
		return int64(i)
	}
	j := i - exactMax
	shift := j/subCount + 1
	sub := int64(j%subCount + subCount)
	return (sub+1)<<shift - 1
}

// Record adds one latency. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := d.Microseconds()
	if v < 0 {
		v = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	h.counts[bucketIndex(v)]++
	if h.n == 0 || v < h.minUS {
		h.minUS = v
	}
	if v > h.maxUS {
		h.maxUS = v
	}
	h.n++
	h.sumUS += float64(v)
}

// Count is the number of recorded values.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest recorded value, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.maxUS) * time.Microsecond }

// Min is the smallest recorded value, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.minUS) * time.Microsecond }

// Mean is the average recorded value; zero when empty.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sumUS/float64(h.n)) * time.Microsecond
}

// Quantile returns the value at quantile q (0 < q ≤ 1): the highest value
// of the bucket holding the ceil(q·n)-th smallest value, capped at Max, so
// it never understates a latency. ok is false when the histogram is empty
// or q is out of range: there is no quantile of nothing.
func (h *Histogram) Quantile(q float64) (d time.Duration, ok bool) {
	if h.n == 0 || !(q > 0 && q <= 1) {
		return 0, false
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	var cum uint64
	for i, c := range h.counts {
		cum += c
		if cum >= rank {
			v := bucketHigh(i)
			if v > h.maxUS {
				v = h.maxUS
			}
			return time.Duration(v) * time.Microsecond, true
		}
	}
	return h.Max(), true
}

// CountAtOrBelow returns how many recorded values are at most d, counting
// a bucket as below d only when its highest value is; so it never
// overstates compliance.
func (h *Histogram) CountAtOrBelow(d time.Duration) uint64 {
	lim := d.Microseconds()
	var n uint64
	for i, c := range h.counts {
		if c == 0 {
			continue
		}
		if bucketHigh(i) > lim {
			break
		}
		n += c
	}
	return n
}

// Merge adds o's values to h. The result is exactly the histogram of both
// sets of values.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.minUS < h.minUS {
		h.minUS = o.minUS
	}
	if o.maxUS > h.maxUS {
		h.maxUS = o.maxUS
	}
	h.n += o.n
	h.sumUS += o.sumUS
}

// Buckets calls fn for each non-empty bucket with its upper bound and
// count, in increasing order (for Prometheus exposition and charts).
func (h *Histogram) Buckets(fn func(upper time.Duration, count uint64)) {
	for i, c := range h.counts {
		if c > 0 {
			fn(time.Duration(bucketHigh(i))*time.Microsecond, c)
		}
	}
}

// histJSON is the serialised histogram: sparse [bucket, count] pairs.
type histJSON struct {
	Format  string      `json:"format"`
	Count   uint64      `json:"count"`
	SumUS   float64     `json:"sum_us"`
	MinUS   int64       `json:"min_us"`
	MaxUS   int64       `json:"max_us"`
	Buckets [][2]uint64 `json:"buckets"`
}

// MarshalJSON encodes the histogram sparsely with its format id.
func (h *Histogram) MarshalJSON() ([]byte, error) {
	j := histJSON{Format: histogramFormat, Count: h.n, SumUS: h.sumUS, MinUS: h.minUS, MaxUS: h.maxUS, Buckets: [][2]uint64{}}
	for i, c := range h.counts {
		if c > 0 {
			j.Buckets = append(j.Buckets, [2]uint64{uint64(i), c})
		}
	}
	return json.Marshal(j)
}

// errHistogramFormat means a serialised histogram is not one this build
// can merge exactly.
var errHistogramFormat = errors.New("histogram format")

// UnmarshalJSON decodes a histogram written by MarshalJSON and checks that
// it is self-consistent, so a hand-edited file cannot merge silently.
func (h *Histogram) UnmarshalJSON(b []byte) error {
	var j histJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.Format != histogramFormat {
		return fmt.Errorf("%w: expected %q, found %q; merge results written by the same releasegate version", errHistogramFormat, histogramFormat, j.Format)
	}
	var n uint64
	counts := make([]uint64, nBuckets)
	for _, p := range j.Buckets {
		if p[0] >= uint64(nBuckets) {
			return fmt.Errorf("%w: bucket %d out of range 0..%d", errHistogramFormat, p[0], nBuckets-1)
		}
		counts[p[0]] += p[1]
		n += p[1]
	}
	if n != j.Count {
		return fmt.Errorf("%w: buckets hold %d values but count says %d", errHistogramFormat, n, j.Count)
	}
	if j.MinUS < 0 || j.MaxUS < j.MinUS || math.IsNaN(j.SumUS) || j.SumUS < 0 {
		return fmt.Errorf("%w: min %d, max %d, sum %g are inconsistent", errHistogramFormat, j.MinUS, j.MaxUS, j.SumUS)
	}
	*h = Histogram{counts: counts, n: j.Count, sumUS: j.SumUS, minUS: j.MinUS, maxUS: j.MaxUS}
	if n == 0 {
		h.counts = nil
	}
	return nil
}
