package bench

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

func TestNaiveRoundRobinTakesTurns(t *testing.T) {
	var mu sync.Mutex
	perConn := map[net.Conn]int{}
	srv := newServer(t, func(c net.Conn) {
		var buf [frameSize]byte
		for {
			if _, err := io.ReadFull(c, buf[:]); err != nil {
				return
			}
			mu.Lock()
			perConn[c]++
			mu.Unlock()
		}
	})
	var dialled atomic.Int64
	p := NewNaiveRoundRobin(4, 10, 0, func() (net.Conn, error) {
		c, err := net.Dial("tcp", srv.addr)
		if err == nil {
			dialled.Add(1)
		}
		return c, err
	})
	for i := range 8 {
		if _, err := p.Write(newFrame(uint64(i))); err != nil {
			t.Fatal(err)
		}
	}
	p.Close()
	if err := srv.waitDone(dialled.Load()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(perConn) != 4 {
		t.Fatalf("server saw %d connections, want 4", len(perConn))
	}
	for _, n := range perConn {
		if n != 2 {
			t.Errorf("messages per connection = %v, want 2 on each", perConn)
			break
		}
	}
}

func TestNaiveRoundRobinGivesUp(t *testing.T) {
	var dials atomic.Int64
	errDown := errors.New("down")
	p := NewNaiveRoundRobin(2, 3, 0, func() (net.Conn, error) {
		dials.Add(1)
		return nil, errDown
	})
	if _, err := p.Write(newFrame(0)); !errors.Is(err, ErrNaiveRetries) {
		t.Errorf("Write with the server down = %v, want ErrNaiveRetries", err)
	}
	// Two first dials, then three attempts by the Write, all on one
	// connection: the naive pool never moves a Write to another.
	if got := dials.Load(); got != 5 {
		t.Errorf("dials = %d, want 5", got)
	}
	p.Close()
	if _, err := p.Write(newFrame(0)); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Write after Close = %v, want net.ErrClosed", err)
	}
}
