package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/puddle/v2"
	"github.com/seed-a245f091/connpool"
	"go.uber.org/goleak"
)

// TestMain fails the run if a benchmark leaves a goroutine behind, such as a
// dial or a destructor still running after its pool was closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// poolSize is the number of connections in every pool: MaxConns for
// connpool, MaxSize for puddle and maxCap for the naive pool. Each pool is
// filled before timing starts.
const poolSize = 8

// BenchmarkGetPut measures checking an idle connection out and back in, with
// no I/O, on one goroutine and on 16 goroutines sharing a pool of 8.
func BenchmarkGetPut(b *testing.B) {
	for _, impl := range impls {
		b.Run("Pool="+impl.name, func(b *testing.B) {
			b.Run("Goroutines=1", func(b *testing.B) {
				b.ReportAllocs()
				p, conns := openPool(b, impl)
				for b.Loop() {
					if err := p.getPut(); err != nil {
						b.Fatal(err)
					}
				}
				reportDials(b, conns)
			})
			b.Run("Goroutines=16", func(b *testing.B) {
				// RunParallel starts parallelism*GOMAXPROCS goroutines:
				// exactly 16 when GOMAXPROCS divides 16, else the next
				// multiple of GOMAXPROCS.
				procs := runtime.GOMAXPROCS(0)
				benchParallel(b, impl, (16+procs-1)/procs)
			})
		})
	}
}

// BenchmarkGetPutScaling is BenchmarkGetPut with 1, 4 and 32 goroutines per
// GOMAXPROCS contending for the same pool of 8 (issue 5).
func BenchmarkGetPutScaling(b *testing.B) {
	for _, impl := range impls {
		b.Run("Pool="+impl.name, func(b *testing.B) {
			for _, perCPU := range []int{1, 4, 32} {
				b.Run(fmt.Sprintf("PerCPU=%d", perCPU), func(b *testing.B) {
					benchParallel(b, impl, perCPU)
				})
			}
		})
	}
}

// benchParallel runs getPut on parallelism*GOMAXPROCS goroutines. Besides
// dials/op it reports waits/op, the share of Gets that found every
// connection out and waited for one to come back.
func benchParallel(b *testing.B, impl impl, parallelism int) {
	b.ReportAllocs()
	p, conns := openPool(b, impl)
	waits := p.waits()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := p.getPut(); err != nil {
				b.Error(err) // not Fatal: this is not the benchmark's goroutine
				return
			}
		}
	})
	b.StopTimer()
	reportDials(b, conns)
	b.ReportMetric(float64(p.waits()-waits)/float64(b.N), "waits/op")
}

// openPool opens impl's pool of poolSize connections, filled, and registers
// its closing with b.Cleanup, which runs with the timer stopped. The cleanup
// fails the benchmark if a connection is left open.
func openPool(b *testing.B, impl impl) (pool, *connCounter) {
	b.Helper()
	conns := new(connCounter)
	p, err := impl.open(conns)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		p.close()
		if n := conns.open.Load(); n != 0 {
			b.Errorf("%d connections still open after closing the pool", n)
		}
	})
	conns.dialled.Store(0) // count only the dials made while timed
	return p, conns
}

// reportDials reports the dials made after the pool was filled: zero for a
// pool that keeps its connections, more for the naive one, which dials
// whenever its channel is empty.
func reportDials(b *testing.B, conns *connCounter) {
	b.ReportMetric(float64(conns.dialled.Load())/float64(b.N), "dials/op")
}

// pool is what a benchmark needs of each implementation. The interface call
// costs the same for all three.
type pool interface {
	// getPut checks an idle connection out and gives it back.
	getPut() error
	// close closes the pool and waits for its connections to be closed.
	close()
	// waits returns how many Gets so far waited for a connection to be
	// given back; the naive pool never waits (it dials instead).
	waits() uint64
}

// impl is an implementation under comparison.
type impl struct {
	name string
	open func(conns *connCounter) (pool, error) // a filled pool of poolSize
}

var impls = []impl{
	{"connpool", openConnpool},
	{"puddle", openPuddle},
	{"naive", openNaive},
}

type connpoolPool struct{ p *connpool.ConnPool }

func openConnpool(conns *connCounter) (pool, error) {
	p, err := connpool.New(connpool.Config{
		Dial:         func(context.Context) (net.Conn, error) { return conns.dial() },
		MaxConns:     poolSize,
		InitialConns: poolSize,
	})
	if err != nil {
		return nil, err
	}
	return connpoolPool{p}, nil
}

func (p connpoolPool) getPut() error {
	c, err := p.p.Get(context.Background())
	if err != nil {
		return err
	}
	return c.Close()
}

// close needs no wait: every connection is back, so Close closes them all
// before it returns, and the pool starts no dial once it is full.
func (p connpoolPool) close() { p.p.Close() }

func (p connpoolPool) waits() uint64 { return p.p.Stats().GetsWaited }

type puddlePool struct{ p *puddle.Pool[net.Conn] }

func openPuddle(conns *connCounter) (pool, error) {
	p, err := puddle.NewPool(&puddle.Config[net.Conn]{
		Constructor: func(context.Context) (net.Conn, error) { return conns.dial() },
		Destructor:  func(c net.Conn) { c.Close() },
		MaxSize:     poolSize,
	})
	if err != nil {
		return nil, err
	}
	for i := 0; i < poolSize; i++ {
		if err := p.CreateResource(context.Background()); err != nil {
			p.Close()
			return nil, err
		}
	}
	return puddlePool{p}, nil
}

func (p puddlePool) getPut() error {
	res, err := p.p.Acquire(context.Background())
	if err != nil {
		return err
	}
	res.Release()
	return nil
}

// close waits for puddle's destructors, which it runs on goroutines.
func (p puddlePool) close() { p.p.Close() }

// waits counts puddle's acquires that found the pool empty and waited for a
// release (the pool is full, so none waits for a construction).
func (p puddlePool) waits() uint64 { return uint64(p.p.Stat().EmptyAcquireCount()) }

type naivePool struct{ p *NaivePool }

// openNaive opens the baseline. With more goroutines than connections its
// Get finds the channel empty and dials an extra connection, which the
// matching Close then finds no room for and closes: that is its design
// (fatih/pool issue 26), kept to show the cost, and dials/op counts it.
func openNaive(conns *connCounter) (pool, error) {
	p, err := NewNaivePool(poolSize, poolSize, conns.dial)
	if err != nil {
		return nil, err
	}
	return naivePool{p}, nil
}

func (p naivePool) getPut() error {
	c, err := p.p.Get()
	if err != nil {
		return err
	}
	return c.Close()
}

func (p naivePool) close() { p.p.Close() }

func (p naivePool) waits() uint64 { return 0 }

// connCounter dials fake connections and counts them, so a benchmark can
// check that its pool closed every one and report the dials it made.
type connCounter struct {
	open    atomic.Int64 // dialled and not yet closed
	dialled atomic.Int64
}

func (cc *connCounter) dial() (net.Conn, error) {
	cc.open.Add(1)
	cc.dialled.Add(1)
	return &fakeConn{counter: cc}, nil
}

// fakeConn is a net.Conn that does no I/O: the benchmarks measure the pools,
// never the connections, and net.Pipe would add a pair of conns and their
// locks to every dial for nothing. Reads and writes fail; Close counts.
type fakeConn struct {
	counter *connCounter
	closed  atomic.Bool
}

var errFakeIO = errors.New("bench: fake connection does no I/O")

func (c *fakeConn) Read([]byte) (int, error)  { return 0, errFakeIO }
func (c *fakeConn) Write([]byte) (int, error) { return 0, errFakeIO }

func (c *fakeConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return net.ErrClosed
	}
	c.counter.open.Add(-1)
	return nil
}

func (c *fakeConn) LocalAddr() net.Addr              { return fakeAddr{} }
func (c *fakeConn) RemoteAddr() net.Addr             { return fakeAddr{} }
func (c *fakeConn) SetDeadline(time.Time) error      { return nil }
func (c *fakeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *fakeConn) SetWriteDeadline(time.Time) error { return nil }

type fakeAddr struct{}

func (fakeAddr) Network() string { return "fake" }
func (fakeAddr) String() string  { return "fake" }
