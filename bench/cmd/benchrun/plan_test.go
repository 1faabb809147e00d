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
