package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// streamConns and streamWriters are the shape of the stream scenarios: 8
// goroutines writing over 4 connections.
const streamConns, streamWriters = 4, 8

// BenchmarkStreamWrite measures 100-byte Writes from 8 goroutines over 4
// connections to a server in the server process that reads and discards:
// through a TCPPool, through a raw fan-out over 4 sockets with no lock of
// its own (the floor), and through a go-tcp-pool-style round-robin.
func BenchmarkStreamWrite(b *testing.B) {
	msg := newFrame(0)
	addrs := helperServer(b)
	for _, impl := range streamImpls {
		b.Run(fmt.Sprintf("Pool=%s/Conns=%d/Goroutines=%d", impl.name, streamConns, streamWriters), func(b *testing.B) {
			w, err := impl.open(addrs.discard, streamOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { w.Close() })
			procs := runtime.GOMAXPROCS(0)
			b.SetParallelism((streamWriters + procs - 1) / procs)
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if n, err := w.Write(msg); n != len(msg) || err != nil {
						b.Errorf("Write = %d, %v", n, err)
						return
					}
				}
			})
		})
	}
}

// streamImpl is a write-only pool under comparison: open returns one of
// streamConns connections to addr.
type streamImpl struct {
	name string
	open func(addr string, opt streamOptions) (io.WriteCloser, error)
}

// streamOptions are the settings a scenario changes from each pool's
// defaults.
type streamOptions struct {
	size int // connections; zero means streamConns
	// idleProbe is TCPPool's ProbeAfter; zero leaves the default.
	idleProbe time.Duration
	// dialled, if not nil, counts the connections the pool opens, so that
	// a benchmark can wait for the server to have taken every one.
	dialled *atomic.Int64
}

// dial opens a connection to addr, counting it in o.dialled.
func (o streamOptions) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := new(net.Dialer).DialContext(ctx, network, addr)
	if err == nil && o.dialled != nil {
		o.dialled.Add(1)
	}
	return c, err
}

var streamImpls = []streamImpl{
	{"tcppool", openTCPPool},
	{"fanout", openFanOut},
	{"naiverr", openNaiveRR},
}

func (o streamOptions) conns() int {
	if o.size == 0 {
		return streamConns
	}
	return o.size
}

// openNaiveRR opens the go-tcp-pool-style baseline with go-tcp-pool's
// defaults: 10 retries, 10ms apart.
func openNaiveRR(addr string, opt streamOptions) (io.WriteCloser, error) {
	p := NewNaiveRoundRobin(opt.conns(), 10, 10*time.Millisecond, func() (net.Conn, error) {
		return opt.dial(context.Background(), "tcp", addr)
	})
	return p, nil
}

// fanOut is the floor TCPPool is measured against: a round-robin over raw
// sockets with no lock of its own, since a net.Conn's write lock already
// keeps each Write whole. It does nothing about failures.
type fanOut struct {
	conns []net.Conn
	next  atomic.Uint64
}

func openFanOut(addr string, opt streamOptions) (io.WriteCloser, error) {
	f := &fanOut{}
	for range opt.conns() {
		c, err := opt.dial(context.Background(), "tcp", addr)
		if err != nil {
			f.Close()
			return nil, err
		}
		f.conns = append(f.conns, c)
	}
	return f, nil
}

func (f *fanOut) Write(b []byte) (int, error) {
	return f.conns[(f.next.Add(1)-1)%uint64(len(f.conns))].Write(b)
}

func (f *fanOut) Close() error {
	for _, c := range f.conns {
		c.Close()
	}
	return nil
}
