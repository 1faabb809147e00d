package bench

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/puddle/v2"
	"github.com/seed-a245f091/connpool"
)

// BenchmarkRoundTrip measures request and response over loopback: 64
// clients share a pool of 8 connections to an echo server, and each
// request checks a connection out, writes a 32-byte message, reads the
// echo and gives the connection back. It reports throughput (req/s) and
// the 99th percentile of the request latency (p99-ns), with the pool's
// wait for a connection included, and the most connections the server saw
// open at once (peak-conns).
func BenchmarkRoundTrip(b *testing.B) {
	const clients = 64
	for _, impl := range rtImpls {
		b.Run(fmt.Sprintf("Pool=%s/Clients=%d/Conns=%d", impl.name, clients, poolSize), func(b *testing.B) {
			srv := newServer(b, echo)
			conns := new(connCounter)
			p, err := impl.open(conns.counting(dialer(srv.addr)), rtOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(p.close) // before the server's cleanup: LIFO
			conns.dialled.Store(0)
			srv.peakConns()

			// RunParallel starts parallelism*GOMAXPROCS goroutines: exactly
			// 64 when GOMAXPROCS divides 64, else the next multiple.
			procs := runtime.GOMAXPROCS(0)
			par := (clients + procs - 1) / procs
			hists := make([]latencyHist, par*procs)
			var next atomic.Int64
			msg := []byte("0123456789abcdef0123456789abcdef")
			b.SetParallelism(par)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				h := &hists[next.Add(1)-1]
				buf := make([]byte, len(msg))
				ctx := context.Background()
				for pb.Next() {
					start := time.Now()
					if err := p.roundTrip(ctx, msg, buf); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
					h.record(time.Since(start))
				}
			})
			b.StopTimer()
			var all latencyHist
			for i := range hists {
				all.merge(&hists[i])
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(all.quantile(0.99)), "p99-ns")
			reportDials(b, conns)
			// The naive pool dials past its 8 connections when none is
			// idle: this shows how far.
			b.ReportMetric(float64(srv.peakConns()), "peak-conns")
		})
	}
}

// rtPool is what the request-response benchmarks need of a checkout pool.
type rtPool interface {
	// roundTrip checks a connection out, sends msg and reads its echo into
	// buf, and gives the connection back; if the exchange failed, it
	// closes the connection instead, as each pool's documentation asks.
	roundTrip(ctx context.Context, msg, buf []byte) error
	// close closes the pool and its connections.
	close()
}

// rtOptions are the settings a scenario changes from each pool's defaults.
type rtOptions struct {
	// probeAfter is connpool's Config.ProbeAfter; zero leaves the default.
	// The other pools have no such check.
	probeAfter time.Duration
}

// rtImpl is a checkout pool under comparison in the request-response
// scenarios: open returns a pool of poolSize connections from dial, filled.
type rtImpl struct {
	name string
	open func(dial connpool.DialFunc, opt rtOptions) (rtPool, error)
}

var rtImpls = []rtImpl{
	{"connpool", openConnpoolRT},
	{"puddle", openPuddleRT},
	{"naive", openNaiveRT},
}

type connpoolRT struct{ p *connpool.ConnPool }

func openConnpoolRT(dial connpool.DialFunc, opt rtOptions) (rtPool, error) {
	p, err := connpool.New(connpool.Config{
		Dial:         dial,
		MaxConns:     poolSize,
		InitialConns: poolSize,
		ProbeAfter:   opt.probeAfter,
	})
	if err != nil {
		return nil, err
	}
	return connpoolRT{p}, nil
}

func (p connpoolRT) roundTrip(ctx context.Context, msg, buf []byte) error {
	c, err := p.p.Acquire(ctx)
	if err != nil {
		return err
	}
	if err := echoOn(c, msg, buf); err != nil {
		c.MarkUnusable()
		c.Close()
		return err
	}
	return c.Close()
}

// close waits for nothing: every connection is back by the time a
// benchmark closes the pool, so Close closes them all before it returns.
func (p connpoolRT) close() { p.p.Close() }

type puddleRT struct{ p *puddle.Pool[net.Conn] }

func openPuddleRT(dial connpool.DialFunc, _ rtOptions) (rtPool, error) {
	p, err := puddle.NewPool(&puddle.Config[net.Conn]{
		Constructor: func(ctx context.Context) (net.Conn, error) { return dial(ctx) },
		Destructor:  func(c net.Conn) { c.Close() },
		MaxSize:     poolSize,
	})
	if err != nil {
		return nil, err
	}
	for range poolSize {
		if err := p.CreateResource(context.Background()); err != nil {
			p.Close()
			return nil, err
		}
	}
	return puddleRT{p}, nil
}

func (p puddleRT) roundTrip(ctx context.Context, msg, buf []byte) error {
	res, err := p.p.Acquire(ctx)
	if err != nil {
		return err
	}
	if err := echoOn(res.Value(), msg, buf); err != nil {
		res.Destroy()
		return err
	}
	res.Release()
	return nil
}

// close waits for puddle's destructors, which it runs on goroutines.
func (p puddleRT) close() { p.p.Close() }

type naiveRT struct{ p *NaivePool }

// openNaiveRT opens the channel-pool baseline. It keeps at most poolSize
// idle connections but, by design, dials whenever none is idle, so under
// 64 clients it opens more and closes the surplus (dials/op counts them).
func openNaiveRT(dial connpool.DialFunc, _ rtOptions) (rtPool, error) {
	p, err := NewNaivePool(poolSize, poolSize, func() (net.Conn, error) { return dial(context.Background()) })
	if err != nil {
		return nil, err
	}
	return naiveRT{p}, nil
}

func (p naiveRT) roundTrip(_ context.Context, msg, buf []byte) error {
	c, err := p.p.Get()
	if err != nil {
		return err
	}
	if err := echoOn(c, msg, buf); err != nil {
		c.(*NaiveConn).MarkUnusable()
		c.Close()
		return err
	}
	return c.Close()
}

func (p naiveRT) close() { p.p.Close() }

// counting wraps dial so that cc counts the connections it opens.
func (cc *connCounter) counting(dial connpool.DialFunc) connpool.DialFunc {
	return func(ctx context.Context) (net.Conn, error) {
		c, err := dial(ctx)
		if err == nil {
			cc.dialled.Add(1)
		}
		return c, err
	}
}
