// Package ring provides a double-ended queue on a circular buffer, for the
// pool's idle connections and waiting Gets.
package ring

// Ring is a double-ended queue on a circular buffer that grows by doubling
// and never shrinks, so a pool in steady state pushes and pops without
// allocating. It grows with what it holds, not with a bound given up
// front, so a pool's memory follows the connections actually open.
//
// The zero value is an empty ring ready to use. A Ring is not safe for
// concurrent use: its owner's lock guards it.
type Ring[T comparable] struct {
	buf  []T
	head int // index of the front element
	n    int // number of elements
}

// Len returns the number of elements.
func (r *Ring[T]) Len() int { return r.n }

// At returns the i-th element from the front, 0 <= i < Len().
func (r *Ring[T]) At(i int) T { return r.buf[r.index(i)] }

// index maps the i-th element from the front to its slot in buf.
func (r *Ring[T]) index(i int) int {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return j
}

// PushBack adds v at the back.
func (r *Ring[T]) PushBack(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[r.index(r.n)] = v
	r.n++
}

// PushFront adds v at the front.
func (r *Ring[T]) PushFront(v T) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.head--
	if r.head < 0 {
		r.head += len(r.buf)
	}
	r.buf[r.head] = v
	r.n++
}

// Front returns the front element without removing it; ok is false if r
// is empty.
func (r *Ring[T]) Front() (v T, ok bool) {
	if r.n == 0 {
		return v, false
	}
	return r.buf[r.head], true
}

// PopFront removes and returns the front element; ok is false if r is
// empty.
func (r *Ring[T]) PopFront() (v T, ok bool) {
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

// PopBack removes and returns the back element; ok is false if r is empty.
func (r *Ring[T]) PopBack() (v T, ok bool) {
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

// Remove deletes the first element equal to v, keeping the order of the
// rest, and reports whether it found one. It takes time in proportion to
// Len.
func (r *Ring[T]) Remove(v T) bool {
	for i := 0; i < r.n; i++ {
		if r.At(i) != v {
			continue
		}
		for ; i < r.n-1; i++ {
			r.buf[r.index(i)] = r.At(i + 1)
		}
		var zero T
		r.buf[r.index(r.n-1)] = zero
		r.n--
		return true
	}
	return false
}

// Filter keeps, in order, the elements for which keep returns true.
func (r *Ring[T]) Filter(keep func(T) bool) {
	kept := 0
	for i := 0; i < r.n; i++ {
		if v := r.At(i); keep(v) {
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

func (r *Ring[T]) grow() {
	size := 2 * len(r.buf)
	if size == 0 {
		size = 4
	}
	buf := make([]T, size)
	for i := 0; i < r.n; i++ {
		buf[i] = r.At(i)
	}
	r.buf = buf
	r.head = 0
}
