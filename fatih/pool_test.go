package pool_test

import (
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/seed-a245f091/connpool"
	pool "github.com/seed-a245f091/connpool/fatih"
	"github.com/seed-a245f091/connpool/internal/testserver"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fatihPool is fatih/pool v3's Pool. pool.Pool has its methods, and no
// other: code that implements it implements ours.
type fatihPool interface {
	Get() (net.Conn, error)
	Close()
	Len() int
}

// fatih/pool v3's API, with its exact signatures.
var (
	_ func(initialCap, maxCap int, factory pool.Factory) (pool.Pool, error) = pool.NewChannelPool
	_ pool.Factory                                                          = func() (net.Conn, error) { return nil, nil }
	_ error                                                                 = pool.ErrClosed
	_ fatihPool                                                             = pool.Pool(nil)
	_ pool.Pool                                                             = fatihPool(nil) // and not a method more
	_ func(*pool.PoolConn) error                                            = (*pool.PoolConn).Close
	_ func(*pool.PoolConn)                                                  = (*pool.PoolConn).MarkUnusable
)

func TestFatihCodeRunsUnchanged(t *testing.T) {
	s := testserver.Start(t, (*testserver.Server).Echo)
	factory := func() (net.Conn, error) { return net.Dial("tcp", s.Addr()) }
	p, err := pool.NewChannelPool(1, 2, factory)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Len() != 1 {
		t.Fatalf("Len() = %d after prefilling 1", p.Len())
	}
	conn, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if pc, ok := conn.(*pool.PoolConn); ok {
		pc.MarkUnusable()
		pc.Close()
	} else {
		t.Fatal("Get did not return a *pool.PoolConn")
	}
	s.WaitOpen(0) // MarkUnusable then Close closed it
	if err := conn.Close(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("second Close = %v, want an error wrapping net.ErrClosed", err)
	}
}

// Where fatih/pool dialled past maxCap, this one waits for a connection to
// come back.
func TestFatihGetAtMaxCapWaits(t *testing.T) {
	s := testserver.Start(t, (*testserver.Server).Echo)
	p, err := pool.NewChannelPool(0, 1, func() (net.Conn, error) { return net.Dial("tcp", s.Addr()) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	first, err := p.Get()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan net.Conn)
	go func() {
		c, err := p.Get()
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	// The second Get waits in line, where fatih/pool would dial.
	under := pool.Underlying(p)
	deadline := time.Now().Add(testserver.WaitLimit)
	for under.Stats().Waiting != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the second Get never waited: %+v", under.Stats())
		}
		runtime.Gosched()
	}
	first.Close()
	second := <-got
	second.Close()
	// The pool's count, not the server's accepts, which may lag behind a
	// connection the kernel has already established.
	if n := under.Stats().Dials; n != 1 {
		t.Errorf("%d connections dialled, want 1", n)
	}
}

func TestFatihBadInput(t *testing.T) {
	if _, err := pool.NewChannelPool(2, 1, func() (net.Conn, error) { return nil, nil }); !errors.Is(err, connpool.ErrInvalidConfig) {
		t.Errorf("initialCap over maxCap: %v, want ErrInvalidConfig", err)
	}
	if _, err := pool.NewChannelPool(0, 1, nil); !errors.Is(err, connpool.ErrInvalidConfig) {
		t.Errorf("nil factory: %v, want ErrInvalidConfig", err)
	}
}
