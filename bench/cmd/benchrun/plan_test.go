package main

import (
	"fmt"
	"strings"
	"testing"
)

// The pools of a Get+return row run back to back, connpool first in half
// of the rows and last in the others: none of them takes the drift of the
// run alone.
func TestPlanGetPutPoolsTakeTurns(t *testing.T) {
	for _, quick := range []bool{false, true} {
		var rows []string // each row's first pool, in order
		last, seen := "", map[string]bool{}
		for _, j := range plan(quick) {
			if !strings.HasPrefix(j.bench, "^BenchmarkGetPut$/") {
				last = ""
				continue
			}
			pool, rest, _ := strings.Cut(strings.TrimPrefix(j.bench, "^BenchmarkGetPut$/^Pool="), "$")
			key := fmt.Sprintf("%s@%d", rest, j.cpu)
			if key != last {
				if seen[key] {
					t.Errorf("quick=%v: row %s runs in two parts", quick, key)
				}
				seen[key] = true
				rows = append(rows, pool)
				last = key
			}
		}
		first := 0
		for _, p := range rows {
			if p == "connpool" {
				first++
			}
		}
		if n := len(rows); n == 0 || first != (n+1)/2 {
			t.Errorf("quick=%v: connpool first in %d of %d rows, want half; rows begin with %v", quick, first, n, rows)
		}
	}
}

// The round trips of the pools take turns: no pool runs twice before every
// other has run once, and each pool runs as often as the others.
func TestPlanRoundTripPoolsTakeTurns(t *testing.T) {
	for _, quick := range []bool{false, true} {
		var order []string // the pools of the cpu 1 runs, in order
		for _, j := range plan(quick) {
			if j.cpu != 1 || !strings.HasPrefix(j.bench, "^BenchmarkRoundTrip$/^Pool=") {
				continue
			}
			if j.count != 1 {
				t.Errorf("quick=%v: %s runs %d times in one process, want 1", quick, j.bench, j.count)
			}
			pool, _, _ := strings.Cut(strings.TrimPrefix(j.bench, "^BenchmarkRoundTrip$/^Pool="), "/")
			order = append(order, pool)
		}
		n := len(checkoutPools)
		if len(order) == 0 || len(order)%n != 0 {
			t.Fatalf("quick=%v: %d round-trip runs, want a multiple of %d", quick, len(order), n)
		}
		for i := 0; i < len(order); i += n {
			round := map[string]bool{}
			for _, p := range order[i : i+n] {
				round[p] = true
			}
			if len(round) != n {
				t.Errorf("quick=%v: round %d runs %v, want every pool once", quick, i/n, order[i:i+n])
			}
		}
		if order[0] == order[n] && len(order) > n {
			t.Errorf("quick=%v: rounds 0 and 1 both begin with %s, want them to take turns", quick, order[0])
		}
	}
}
