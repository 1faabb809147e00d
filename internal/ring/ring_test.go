package ring

import (
	"slices"
	"testing"
)

func contents(r *Ring[int]) []int {
	var out []int
	for i := range r.Len() {
		out = append(out, r.At(i))
	}
	return out
}

func TestRingIsADeque(t *testing.T) {
	var r Ring[int]
	var model []int
	// Enough pushes and pops on both ends to wrap and grow several times.
	for i := range 200 {
		switch i % 7 {
		case 0, 3:
			r.PushFront(i)
			model = append([]int{i}, model...)
		case 1, 4, 5:
			r.PushBack(i)
			model = append(model, i)
		case 2:
			v, ok := r.PopFront()
			if ok != (len(model) > 0) || (ok && v != model[0]) {
				t.Fatalf("step %d: PopFront = %d, %v; model %v", i, v, ok, model)
			}
			if ok {
				model = model[1:]
			}
		case 6:
			v, ok := r.PopBack()
			if ok != (len(model) > 0) || (ok && v != model[len(model)-1]) {
				t.Fatalf("step %d: PopBack = %d, %v; model %v", i, v, ok, model)
			}
			if ok {
				model = model[:len(model)-1]
			}
		}
		if got := contents(&r); !slices.Equal(got, model) {
			t.Fatalf("step %d: ring %v, want %v", i, got, model)
		}
	}
	if f, ok := r.Front(); !ok || f != model[0] {
		t.Errorf("Front = %d, %v, want %d", f, ok, model[0])
	}
}

func TestRingRemoveAndFilterKeepOrder(t *testing.T) {
	var r Ring[int]
	for i := range 10 {
		r.PushBack(i)
	}
	if !r.Remove(4) || r.Remove(42) {
		t.Fatal("Remove found the wrong elements")
	}
	r.Filter(func(v int) bool { return v%2 == 0 })
	if got, want := contents(&r), []int{0, 2, 6, 8}; !slices.Equal(got, want) {
		t.Errorf("after Remove and Filter: %v, want %v", got, want)
	}
}

func TestRingEmpty(t *testing.T) {
	var r Ring[int]
	if _, ok := r.PopFront(); ok {
		t.Error("PopFront of an empty ring succeeded")
	}
	if _, ok := r.PopBack(); ok {
		t.Error("PopBack of an empty ring succeeded")
	}
	if _, ok := r.Front(); ok {
		t.Error("Front of an empty ring succeeded")
	}
}
