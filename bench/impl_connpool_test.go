package bench

// Every call the benchmarks make into the root package is in this file, so
// that following a change of its API is a change here only.

import (
	"context"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/seed-a245f091/connpool"
)

// Each pool's first step of dial backoff, as the recovery target reads "one
// backoff step": the DialBackoff of each, both
// at their defaults.
const (
	connpoolBackoffStep = 10 * time.Millisecond // Config.DialBackoff's default
	tcppoolBackoffStep  = 10 * time.Millisecond // TCPPoolConfig.DialBackoff's default
)

// connpoolPool is a ConnPool under the checkoutPool interface.
type connpoolPool struct{ p *connpool.ConnPool }

// openConnpool opens a ConnPool of size connections from dial, filled, with
// every setting at its default but for what opt sets.
func openConnpool(dial dialFunc, size int, opt checkoutOptions) (checkoutPool, error) {
	p, err := connpool.New(connpool.Config{
		Dial:         func(ctx context.Context, _, _ string) (net.Conn, error) { return dial(ctx) },
		MaxConns:     size,
		InitialConns: size,
		ProbeAfter:   opt.probeAfter, // zero means the default, 1ms; negative is off
	})
	if err != nil {
		return nil, err
	}
	return connpoolPool{p}, nil
}

func (p connpoolPool) get(ctx context.Context) (any, error) { return p.p.Get(ctx) }

func (p connpoolPool) conn(h any) net.Conn { return h.(net.Conn) }

func (p connpoolPool) put(h any, broken bool) {
	c := h.(net.Conn)
	if broken {
		c.(*connpool.PoolConn).MarkUnusable()
	}
	c.Close()
}

func (p connpoolPool) waits() (uint64, bool) { return p.p.Stats().GetsWaited, true }

// close needs no wait: every connection is back by the time a benchmark
// closes the pool, so Close closes them all before it returns.
func (p connpoolPool) close() { p.p.Close() }

// observeConnpool attaches an observer that counts every event to the
// ConnPool under p, for the benchmark of an observer's cost.
func observeConnpool(p checkoutPool) error {
	if _, ok := p.(connpoolPool); !ok {
		return errors.New("bench: not a connpool pool")
	}
	p.(connpoolPool).p.Observe(new(countingObserver))
	return nil
}

var _ connpool.Observer = (*countingObserver)(nil)

// countingObserver is the observer observeConnpool attaches: it does the
// least an exporter does, an atomic add per event.
type countingObserver struct{ events atomic.Uint64 }

func (o *countingObserver) ObserveWait(time.Duration)        { o.events.Add(1) }
func (o *countingObserver) ObserveUse(time.Duration)         { o.events.Add(1) }
func (o *countingObserver) ObserveDial(time.Duration, error) { o.events.Add(1) }

// openTCPPool opens a TCPPool of opt.conns() connections to addr with its
// defaults but for what opt sets (round-robin, 10 attempts 10ms apart, idle
// probe after 1ms), and checks that they are all up.
func openTCPPool(addr string, opt streamOptions) (io.WriteCloser, error) {
	p, err := connpool.DialPool(context.Background(), connpool.TCPPoolConfig{
		Addrs:      []string{addr},
		Size:       opt.conns(),
		ProbeAfter: opt.idleProbe,
		Dial:       opt.dial,
	})
	if err != nil {
		return nil, err
	}
	if st := p.Stats(); st.ConnsUp != opt.conns() {
		p.Close()
		return nil, errors.New("bench: TCPPool has fewer connections up than asked")
	}
	return p, nil
}
