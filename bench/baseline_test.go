package bench

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
)

// BenchmarkGetPutBaseline runs BenchmarkGetPut's loop on two stand-ins
// that are not pools, at the shapes its targets are read at, so that the
// report can tell what a pool costs from what the loop and the machine do:
//
//   - Pool=none: get returns the same connection every time and put does
//     nothing. Its ns/op is the loop's own cost (counting, timing one Get
//     in seven, the interface calls), and its fairness the most the
//     scheduler gives goroutines that never block.
//   - Pool=mutex: get and put each take and release one sync.Mutex, as a
//     pool with one lock must, and do nothing else.
func BenchmarkGetPutBaseline(b *testing.B) {
	addrs := helperServer(b)
	for _, impl := range baselineImpls {
		for _, perCPU := range []int{1, 4, 32} {
			b.Run(fmt.Sprintf("Pool=%s/PerCPU=%d/Conns=8", impl.name, perCPU), func(b *testing.B) {
				benchGetPut(b, impl, addrs.discard, perCPU, 8, checkoutOptions{}, nil)
			})
		}
	}
}

var baselineImpls = []checkoutImpl{
	{"none", openNoPool},
	{"mutex", openMutexOnly},
}

// noPool lends its one connection to everyone at once.
type noPool struct{ c net.Conn }

func openNoPool(dial dialFunc, _ int, _ checkoutOptions) (checkoutPool, error) {
	c, err := dial(context.Background())
	if err != nil {
		return nil, err
	}
	return &noPool{c}, nil
}

func (p *noPool) get(context.Context) (any, error) { return p.c, nil }
func (p *noPool) conn(h any) net.Conn              { return h.(net.Conn) }
func (p *noPool) put(any, bool)                    {}
func (p *noPool) waits() (uint64, bool)            { return 0, false }
func (p *noPool) close()                           { p.c.Close() }

// mutexOnly is noPool with a mutex taken by get and by put, guarding a
// count of the connections out.
type mutexOnly struct {
	mu  sync.Mutex
	out int
	c   net.Conn
}

func openMutexOnly(dial dialFunc, _ int, _ checkoutOptions) (checkoutPool, error) {
	c, err := dial(context.Background())
	if err != nil {
		return nil, err
	}
	return &mutexOnly{c: c}, nil
}

func (p *mutexOnly) get(context.Context) (any, error) {
	p.mu.Lock()
	p.out++
	p.mu.Unlock()
	return p.c, nil
}

func (p *mutexOnly) conn(h any) net.Conn { return h.(net.Conn) }

func (p *mutexOnly) put(any, bool) {
	p.mu.Lock()
	p.out--
	p.mu.Unlock()
}

func (p *mutexOnly) waits() (uint64, bool) { return 0, false }
func (p *mutexOnly) close()                { p.c.Close() }
