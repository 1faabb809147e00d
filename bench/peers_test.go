package bench

import (
	"context"
	"net"
	"time"

	burak "github.com/buraksezer/connpool"
	fatih "github.com/fatih/pool"
	"github.com/jackc/puddle/v2"
	silence "github.com/silenceper/pool"
)

// checkoutPool is what the benchmarks need of a checkout pool. The
// interface call and the handle cost every pool the same; a handle is a
// pointer or an interface value, so boxing it in an any allocates nothing.
type checkoutPool interface {
	// get lends a connection, waiting for one if the pool does.
	get(ctx context.Context) (any, error)
	// conn returns the connection behind a handle from get.
	conn(h any) net.Conn
	// put gives the connection back, or closes it if broken, as each
	// pool's documentation asks.
	put(h any, broken bool)
	// waits returns how many Gets so far found no idle connection and
	// waited for one, and false for a pool that does not count them.
	waits() (uint64, bool)
	// close closes the pool and its connections.
	close()
}

// checkoutOptions are the settings a scenario changes from each pool's
// defaults.
type checkoutOptions struct {
	// probeAfter is connpool's Config.ProbeAfter; zero leaves the default.
	// The other pools have no such check.
	probeAfter time.Duration
}

// checkoutImpl is a checkout pool under comparison: open returns a pool of
// size connections from dial, filled before it returns.
type checkoutImpl struct {
	name string
	open func(dial dialFunc, size int, opt checkoutOptions) (checkoutPool, error)
}

// checkoutImpls are connpool and every pool a user would pick instead.
var checkoutImpls = []checkoutImpl{
	{"connpool", openConnpool},
	{"puddle", openPuddle},
	{"fatih", openFatih},
	{"buraksezer", openBurak},
	{"silenceper", openSilence},
	{"naive", openNaive},
}

// roundTrip checks a connection out of p, sends msg and reads its echo into
// buf, and gives the connection back (closes it, if the exchange failed).
func roundTrip(ctx context.Context, p checkoutPool, msg, buf []byte) error {
	h, err := p.get(ctx)
	if err != nil {
		return err
	}
	err = echoOn(p.conn(h), msg, buf)
	p.put(h, err != nil)
	return err
}

type puddlePool struct{ p *puddle.Pool[net.Conn] }

func openPuddle(dial dialFunc, size int, _ checkoutOptions) (checkoutPool, error) {
	p, err := puddle.NewPool(&puddle.Config[net.Conn]{
		Constructor: func(ctx context.Context) (net.Conn, error) { return dial(ctx) },
		Destructor:  func(c net.Conn) { c.Close() },
		MaxSize:     int32(size),
	})
	if err != nil {
		return nil, err
	}
	for range size {
		if err := p.CreateResource(context.Background()); err != nil {
			p.Close()
			return nil, err
		}
	}
	return puddlePool{p}, nil
}

func (p puddlePool) get(ctx context.Context) (any, error) { return p.p.Acquire(ctx) }

func (p puddlePool) conn(h any) net.Conn { return h.(*puddle.Resource[net.Conn]).Value() }

func (p puddlePool) put(h any, broken bool) {
	if res := h.(*puddle.Resource[net.Conn]); broken {
		res.Destroy()
	} else {
		res.Release()
	}
}

// waits counts puddle's acquires that found the pool empty and waited for a
// release (the pool is full, so none waits for a construction).
func (p puddlePool) waits() (uint64, bool) { return uint64(p.p.Stat().EmptyAcquireCount()), true }

// close waits for puddle's destructors, which it runs on goroutines.
func (p puddlePool) close() { p.p.Close() }

// fatihPool is fatih/pool v3: a channel of idle connections whose Get,
// without a context, dials when none is idle however many are out.
type fatihPool struct{ p fatih.Pool }

func openFatih(dial dialFunc, size int, _ checkoutOptions) (checkoutPool, error) {
	p, err := fatih.NewChannelPool(size, size, func() (net.Conn, error) { return dial(context.Background()) })
	if err != nil {
		return nil, err
	}
	return fatihPool{p}, nil
}

func (p fatihPool) get(context.Context) (any, error) { return p.p.Get() }

func (p fatihPool) conn(h any) net.Conn { return h.(net.Conn) }

func (p fatihPool) put(h any, broken bool) {
	c := h.(net.Conn)
	if broken {
		c.(*fatih.PoolConn).MarkUnusable()
	}
	c.Close()
}

func (p fatihPool) waits() (uint64, bool) { return 0, false }

func (p fatihPool) close() { p.p.Close() }

// burakPool is buraksezer/connpool: fatih/pool with a semaphore, so that
// Get waits, with its context, once maxCap connections are out.
type burakPool struct{ p burak.Pool }

func openBurak(dial dialFunc, size int, _ checkoutOptions) (checkoutPool, error) {
	p, err := burak.NewChannelPool(size, size, func() (net.Conn, error) { return dial(context.Background()) })
	if err != nil {
		return nil, err
	}
	return burakPool{p}, nil
}

func (p burakPool) get(ctx context.Context) (any, error) { return p.p.Get(ctx) }

func (p burakPool) conn(h any) net.Conn { return h.(net.Conn) }

func (p burakPool) put(h any, broken bool) {
	c := h.(net.Conn)
	if broken {
		c.(*burak.PoolConn).MarkUnusable()
	}
	c.Close()
}

func (p burakPool) waits() (uint64, bool) { return 0, false }

func (p burakPool) close() { p.p.Close() }

// silencePool is silenceper/pool: a channel of idle connections and, once
// MaxCap are open, a queue of waiting Gets served by Put. Its Get takes no
// context.
type silencePool struct{ p silence.Pool }

func openSilence(dial dialFunc, size int, _ checkoutOptions) (checkoutPool, error) {
	p, err := silence.NewChannelPool(&silence.Config{
		InitialCap: size,
		MaxCap:     size,
		MaxIdle:    size,
		Factory:    func() (any, error) { return dial(context.Background()) },
		Close:      func(v any) error { return v.(net.Conn).Close() },
	})
	if err != nil {
		return nil, err
	}
	return silencePool{p}, nil
}

func (p silencePool) get(context.Context) (any, error) { return p.p.Get() }

func (p silencePool) conn(h any) net.Conn { return h.(net.Conn) }

func (p silencePool) put(h any, broken bool) {
	if broken {
		p.p.Close(h)
		return
	}
	p.p.Put(h)
}

func (p silencePool) waits() (uint64, bool) { return 0, false }

func (p silencePool) close() { p.p.Release() }

// naivePool is the baseline of bench/naive.go.
type naivePool struct{ p *NaivePool }

// openNaive opens the baseline. With more goroutines than connections its
// Get finds the channel empty and dials an extra connection, which the
// matching Close then finds no room for and closes: that is its design
// (fatih/pool issue 26), kept to show the cost, and dials/op counts it.
func openNaive(dial dialFunc, size int, _ checkoutOptions) (checkoutPool, error) {
	p, err := NewNaivePool(size, size, func() (net.Conn, error) { return dial(context.Background()) })
	if err != nil {
		return nil, err
	}
	return naivePool{p}, nil
}

func (p naivePool) get(context.Context) (any, error) { return p.p.Get() }

func (p naivePool) conn(h any) net.Conn { return h.(net.Conn) }

func (p naivePool) put(h any, broken bool) {
	c := h.(*NaiveConn)
	if broken {
		c.MarkUnusable()
	}
	c.Close()
}

func (p naivePool) waits() (uint64, bool) { return 0, false }

func (p naivePool) close() { p.p.Close() }
