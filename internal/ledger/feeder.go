package ledger

// treeFeeder moves tree building off the goroutine that reads and verifies
// entries: the reader hands over entry hashes in batches and a second
// goroutine turns them into leaves and adds them to the trees, in order.
// With PostgreSQL's COPY on one core and the reader on another, a third
// stream of work on an otherwise idle machine is what keeps `root` and
// `verify --since` close to the COPY's own time (docs/benchmarks.md).
type treeFeeder struct {
	batches chan []Hash
	free    chan []Hash
	buf     []Hash
	done    chan struct{}
	closed  bool
}

// feederBatch is the number of entry hashes per hand-over: two channel
// operations per 4,096 entries.
const feederBatch = 4096

// newTreeFeeder starts the building goroutine; build gets the entry hashes
// in order, batch by batch. Call wait before reading what build made.
func newTreeFeeder(build func(entryHashes []Hash)) *treeFeeder {
	f := &treeFeeder{batches: make(chan []Hash, 4), free: make(chan []Hash, 6), done: make(chan struct{})}
	for range 6 {
		f.free <- make([]Hash, 0, feederBatch)
	}
	f.buf = <-f.free
	go func() {
		defer close(f.done)
		for b := range f.batches {
			build(b)
			f.free <- b[:0]
		}
	}()
	return f
}

// add hands over the next entry hash.
func (f *treeFeeder) add(h Hash) {
	f.buf = append(f.buf, h)
	if len(f.buf) == feederBatch {
		f.batches <- f.buf
		f.buf = <-f.free
	}
}

// wait hands over the last batch and waits until everything is built; it
// may be called more than once.
func (f *treeFeeder) wait() {
	if f.closed {
		return
	}
	f.closed = true
	if len(f.buf) > 0 {
		f.batches <- f.buf
	}
	close(f.batches)
	<-f.done
}
