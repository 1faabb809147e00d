package connpool

// ring is a double-ended queue on a circular buffer that grows by doubling
// and never shrinks, so a pool in steady state pushes and pops without
// allocating. It holds idle connections (bounded by MaxConns, so it grows
// at most a few times) and waiting Gets.
//
// A ring is not safe for concurrent use: its owner's lock guards it.
type ring[T comparable] struct {
	buf  []T
	head int // index of the front element
	n    int // number of elements
}

func (r *ring[T]) len() int { return r.n }

// at returns the i-th element from the front.
func (r *ring[T]) at(i int) T { return r.buf[r.index(i)] }

// index maps the i-th element from the front to its slot in buf.
func (r *ring[T]) index(i int) int {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return j
}

func (r *ring[T]) pushBack(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[r.index(r.n)] = v
	r.n++
}

// popFront removes and returns the front element; ok is false if r is empty.
func (r *ring[T]) popFront() (v T, ok bool) {
	if r.n == 0 {
		return v, false
	}
	var zero T
	v = r.buf[r.head]
	r.buf[r.head] = zero // let the garbage collector have it
	r.head = r.index(1)
	r.n--
	return v, true
}

// popBack removes and returns the back element; ok is false if r is empty.
func (r *ring[T]) popBack() (v T, ok bool) {
	if r.n == 0 {
		return v, false
	}
	var zero T
	i := r.index(r.n - 1)
	v = r.buf[i]
	r.buf[i] = zero
	r.n--
	return v, true
}

// remove deletes the first element equal to v, keeping the order of the
// rest, and reports whether it found one.
func (r *ring[T]) remove(v T) bool {
	for i := 0; i < r.n; i++ {
		if r.at(i) != v {
			continue
		}
		for ; i < r.n-1; i++ {
			r.buf[r.index(i)] = r.at(i + 1)
		}
		var zero T
		r.buf[r.index(r.n-1)] = zero
		r.n--
		return true
	}
	return false
}

// filter keeps, in order, the elements for which keep returns true.
func (r *ring[T]) filter(keep func(T) bool) {
	kept := 0
	for i := 0; i < r.n; i++ {
		if v := r.at(i); keep(v) {
			r.buf[r.index(kept)] = v
			kept++
		}
	}
	var zero T
	for i := kept; i < r.n; i++ {
		r.buf[r.index(i)] = zero
	}
	r.n = kept
}

func (r *ring[T]) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 4
	}
	buf := make([]T, size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.at(i)
	}
	r.buf = buf
	r.head = 0
}
