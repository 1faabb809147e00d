package pool

import "github.com/seed-a245f091/connpool"

// Underlying returns the connpool pool under p.
func Underlying(p Pool) *connpool.ConnPool { return p.(channelPool).p.(*connpool.ConnPool) }
