package load

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestHistogramQuantilesWithinRelativeError(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 0, 100000)
	for range 100000 {
		// log-uniform from 1µs to ~100s
		v := time.Duration(float64(time.Microsecond) * math.Pow(10, r.Float64()*8))
		v = v.Truncate(time.Microsecond)
		vals = append(vals, v)
		h.Record(v)
	}
	sort.Slice(vals, func(i, j int) bool { return vals[i] < vals[j] })
	for _, q := range []float64{0.001, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		got, ok := h.Quantile(q)
		if !ok {
			t.Fatalf("q%v: no value", q)
		}
		idx := int(float64(len(vals))*q+0.999999) - 1
		want := vals[idx]
		if got < want {
			t.Errorf("q%v = %v understates the true %v", q, got, want)
		}
		if float64(got-want) > float64(want)*relativeError+float64(time.Microsecond) {
			t.Errorf("q%v = %v, true %v: error above %.2f%%", q, got, want, relativeError*100)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] {
		t.Errorf("min/max %v/%v, want %v/%v", h.Min(), h.Max(), vals[0], vals[len(vals)-1])
	}
}

func TestHistogramBucketsAreContiguous(t *testing.T) {
	t.Parallel()
	prev := int64(-1)
	for i := 0; i < nBuckets; i++ {
		hi := bucketHigh(i)
		if hi <= prev {
			t.Fatalf("bucket %d high %d not above previous %d", i, hi, prev)
		}
		if got := bucketIndex(prev + 1); got != i {
			t.Fatalf("value %d maps to bucket %d, want %d", prev+1, got, i)
		}
		if got := bucketIndex(hi); got != i {
			t.Fatalf("value %d maps to bucket %d, want %d", hi, got, i)
		}
		prev = hi
	}
}

func TestHistogramMergeIsExact(t *testing.T) {
	t.Parallel()
	var a, b, all Histogram
	for i := range 5000 {
		d := time.Duration(i*i) * time.Microsecond
		all.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	// through JSON, as shard files travel
	var a2, b2 Histogram
	for _, p := range []struct {
		in  *Histogram
		out *Histogram
	}{{&a, &a2}, {&b, &b2}} {
		js, err := json.Marshal(p.in)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(js, p.out); err != nil {
			t.Fatal(err)
		}
	}
	var m Histogram
	m.Merge(&a2)
	m.Merge(&b2)
	x, _ := json.Marshal(&m)
	y, _ := json.Marshal(&all)
	if string(x) != string(y) {
		t.Fatalf("merged histogram differs from the histogram of all values:\n%s\n%s", x, y)
	}
}

func TestHistogramEmptyHasNoQuantile(t *testing.T) {
	t.Parallel()
	var h Histogram
	if _, ok := h.Quantile(0.99); ok {
		t.Fatal("an empty histogram reported a p99")
	}
	h.Record(time.Millisecond)
	for _, q := range []float64{0, -1, 1.5} {
		if _, ok := h.Quantile(q); ok {
			t.Errorf("quantile %v accepted", q)
		}
	}
}

func TestHistogramRejectsInconsistentJSON(t *testing.T) {
	t.Parallel()
	for name, in := range map[string]string{
		"another format is refused":    `{"format":"hdr/v2","count":0,"buckets":[]}`,
		"a count that does not add up": `{"format":"` + histogramFormat + `","count":3,"buckets":[[1,1]]}`,
		"a bucket out of range":        `{"format":"` + histogramFormat + `","count":1,"buckets":[[999999,1]]}`,
		"a max below the min":          `{"format":"` + histogramFormat + `","count":1,"min_us":5,"max_us":1,"buckets":[[1,1]]}`,
	} {
		var h Histogram
		err := json.Unmarshal([]byte(in), &h)
		if !errors.Is(err, errHistogramFormat) {
			t.Errorf("%s: got %v, want ErrHistogramFormat", name, err)
		}
	}
}

func FuzzHistogramJSON(f *testing.F) {
	var h Histogram
	h.Record(3 * time.Millisecond)
	h.Record(2 * time.Second)
	js, _ := json.Marshal(&h)
	f.Add(js)
	f.Add([]byte(`{"format":"x"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h Histogram
		if err := json.Unmarshal(b, &h); err != nil {
			return
		}
		// anything accepted must round-trip and answer quantiles sanely
		out, err := json.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		var h2 Histogram
		if err := json.Unmarshal(out, &h2); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if q, ok := h.Quantile(0.5); ok && q < 0 {
			t.Fatalf("negative median %v", q)
		}
	})
}
