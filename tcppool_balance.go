package connpool

import (
	"math/rand/v2"
	"sync/atomic"
)

// Balancer chooses the connection of a [TCPPool] that each Write goes to.
// Set one with [TCPPoolConfig.Balancer]; [RoundRobin], [LeastLoaded] and
// [Random] are provided, and [BalancerFunc] turns a function into one.
//
// Pick is called as a Write chooses a connection, once per attempt and
// again while it waits for a connection to come up, from many goroutines
// at once, so it must be safe for concurrent use, must not block, and
// should not allocate (the pool's Writes do not).
type Balancer interface {
	// Pick returns the index, from 0 to conns.Len()-1, of the connection
	// that a Write of size bytes should use, or -1 if none will do now. The
	// pool writes on the connection picked if it is up, and otherwise on
	// the next one up after it, wrapping around; on -1 the Write waits as
	// if every connection were down. Any other index out of range, a
	// negative one too, is taken modulo conns.Len().
	Pick(conns ConnSet, size int) int
}

// BalancerFunc adapts a function to the [Balancer] interface.
type BalancerFunc func(conns ConnSet, size int) int

// Pick calls f(conns, size).
func (f BalancerFunc) Pick(conns ConnSet, size int) int { return f(conns, size) }

// ConnSet is a read-only view of a [TCPPool]'s connections, handed to a
// [Balancer]. Indexes run from 0 to Len()-1 and are stable for the duration
// of one Pick. What it reports can change as soon as it is read: a
// connection seen up may fail before the Write reaches it, which the pool
// handles.
//
// A ConnSet is a small value; passing it does not allocate. Its methods
// are safe for concurrent use and panic, like a slice, on an index out of
// range.
type ConnSet struct {
	slots []*slot
}

// Len returns the number of connections.
func (c ConnSet) Len() int { return len(c.slots) }

// Up reports whether connection i is connected, rather than down and
// being redialled.
func (c ConnSet) Up(i int) bool { return c.slots[i].live.Load() != nil }

// InFlight returns the number of Writes in progress on connection i; 0 if
// it is down.
func (c ConnSet) InFlight(i int) int {
	lc := c.slots[i].live.Load()
	if lc == nil {
		return 0
	}
	return max(int(lc.refs.Load())-1, 0) // one reference is the slot's own
}

// Addr returns the backend address connection i is connected to, as given
// in [TCPPoolConfig.Addrs], or "" if it is down.
func (c ConnSet) Addr(i int) string {
	lc := c.slots[i].live.Load()
	if lc == nil {
		return ""
	}
	return lc.addr
}

// RoundRobin returns a Balancer that takes the connections in turn,
// skipping those that are down. It is the default.
func RoundRobin() Balancer { return new(roundRobin) }

type roundRobin struct {
	next atomic.Uint64
}

func (r *roundRobin) Pick(c ConnSet, _ int) int {
	n := uint64(c.Len())
	if n == 0 {
		return -1
	}
	return firstUp(c, int((r.next.Add(1)-1)%n))
}

// LeastLoaded returns a Balancer that picks the connection up with the
// fewest Writes in progress, so that a connection slowed down (by a slow
// peer or a full send buffer) gets less traffic. Ties go round-robin. It
// looks at every connection on every Write, so it costs more than
// RoundRobin on a large pool.
func LeastLoaded() Balancer { return new(leastLoaded) }

type leastLoaded struct {
	next atomic.Uint64
}

func (l *leastLoaded) Pick(c ConnSet, _ int) int {
	n := c.Len()
	if n == 0 {
		return -1
	}
	start := int((l.next.Add(1) - 1) % uint64(n))
	best, bestLoad := -1, 0
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		lc := c.slots[i].live.Load()
		if lc == nil {
			continue
		}
		load := int(lc.refs.Load())
		if best < 0 || load < bestLoad {
			best, bestLoad = i, load
			if load <= 1 { // only the slot's own reference: idle
				break
			}
		}
	}
	return best
}

// Random returns a Balancer that picks a connection up uniformly at
// random. It keeps no state shared between Writes, so it scales best when
// many goroutines write at once.
func Random() Balancer { return random{} }

type random struct{}

func (random) Pick(c ConnSet, _ int) int {
	n := c.Len()
	if n == 0 {
		return -1
	}
	// A few draws over all the connections, kept only if up, are uniform
	// over those up, and almost always enough; else count them and draw
	// among them. (The next one up after a random one would give a
	// connection after a run of down ones their share too.)
	for range 4 {
		if i := rand.IntN(n); c.Up(i) {
			return i
		}
	}
	up := 0
	for i := range n {
		if c.Up(i) {
			up++
		}
	}
	if up == 0 {
		return -1
	}
	k := rand.IntN(up)
	for i := range n {
		if c.Up(i) {
			if k == 0 {
				return i
			}
			k--
		}
	}
	return firstUp(c, 0) // some went down since they were counted
}

// firstUp returns the first connection up at or after start, wrapping
// around, or -1.
func firstUp(c ConnSet, start int) int {
	n := c.Len()
	for k := range n {
		i := start + k
		if i >= n {
			i -= n
		}
		if c.slots[i].live.Load() != nil {
			return i
		}
	}
	return -1
}
