package commandgate

import "sync"

// capture keeps the first max bytes of a stream (0: none) and its last
// tail bytes, and counts the whole.
type capture struct {
	mu    sync.Mutex
	max   int
	head  []byte
	tail  []byte
	size  int
	total int64
}

func newCapture(max, tail int) *capture { return &capture{max: max, size: tail} }

// Write never fails, so the command is never blocked by a full buffer.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total += int64(len(p))
	if room := c.max - len(c.head); room > 0 {
		c.head = append(c.head, p[:min(room, len(p))]...)
	}
	c.tail = append(c.tail, p...)
	if over := len(c.tail) - c.size; over > 0 {
		c.tail = append(c.tail[:0], c.tail[over:]...)
	}
	return len(p), nil
}

// Head returns the kept beginning of the stream.
func (c *capture) Head() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.head
}

// Tail returns the last bytes of the stream.
func (c *capture) Tail() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.tail)
}

// Total is how many bytes were written.
func (c *capture) Total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

// Truncated reports whether the head lost bytes.
func (c *capture) Truncated() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total > int64(len(c.head))
}
