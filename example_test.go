package connpool_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"runtime"
	"sync"
	"time"

	"github.com/seed-a245f091/connpool"
)

// startEcho starts a line echo server on a free port of 127.0.0.1 and
// returns its address and a function that stops it.
func startEcho() (string, func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String(), func() { ln.Close(); <-done }
}

func ExampleNew() {
	addr, stop := startEcho()
	defer stop()

	pool, err := connpool.New(connpool.Config{
		Addr:         addr, // dialled with a net.Dialer; set Dial for TLS or your own
		DialTimeout:  time.Second,
		MaxConns:     4,
		InitialConns: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn, err := pool.Get(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(conn, "hello")
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		conn.(*connpool.PoolConn).MarkUnusable() // do not reuse a broken conn
	}
	conn.Close() // back to the pool
	fmt.Print(reply)
	fmt.Println("idle:", pool.Len(), "open:", pool.NumberOfConns())
	// Output:
	// hello
	// idle: 1 open: 1
}

func ExampleNewChannelPool() {
	addr, stop := startEcho()
	defer stop()

	factory := func() (net.Conn, error) { return net.Dial("tcp", addr) }
	p, err := connpool.NewChannelPool(2, 10, factory)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	conn, err := p.Get(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("idle while one is out:", p.Len())
	conn.Close() // returns it to the pool; the socket stays open
	fmt.Println("idle after return:", p.Len(), "open:", p.NumberOfConns())
	// Output:
	// idle while one is out: 1
	// idle after return: 2 open: 2
}

func ExampleConnPool_TryGet() {
	addr, stop := startEcho()
	defer stop()

	pool, err := connpool.New(connpool.Config{Addr: addr, MaxConns: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	if _, err := pool.TryGet(); err != nil {
		fmt.Println(err) // nothing idle yet; a dial starts in the background
	}
	// Nothing signals the end of that dial: poll until its connection is
	// idle.
	for pool.Stats().Idle == 0 {
		time.Sleep(time.Millisecond)
	}
	conn, err := pool.Get(context.Background()) // takes the dialled connection, without a dial of its own
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	st := pool.Stats()
	fmt.Println("Gets served from idle:", st.GetsFromIdle, "dials:", st.Dials)
	// Output:
	// connpool: no idle connection available
	// Gets served from idle: 1 dials: 1
}

// waitTimes is an Observer that keeps the longest wait it has seen; an
// exporter would feed a histogram instead.
type waitTimes struct {
	mu      sync.Mutex
	longest time.Duration
	gets    int
}

func (w *waitTimes) ObserveWait(d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.gets++
	w.longest = max(w.longest, d)
}
func (w *waitTimes) ObserveUse(time.Duration)         {}
func (w *waitTimes) ObserveDial(time.Duration, error) {}

func ExampleConnPool_Observe() {
	addr, stop := startEcho()
	defer stop()

	pool, err := connpool.New(connpool.Config{Name: "echo", Addr: addr, MaxConns: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	waits := new(waitTimes)
	remove := pool.Observe(waits)

	held, err := pool.Get(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	got := make(chan net.Conn)
	go func() {
		c, err := pool.Get(context.Background()) // waits for held
		if err != nil {
			log.Fatal(err)
		}
		got <- c
	}()
	for pool.Stats().Waiting == 0 {
		runtime.Gosched()
	}
	time.Sleep(time.Millisecond)
	held.Close()
	(<-got).Close()

	remove() // from now on waits hears nothing
	c, err := pool.Get(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	c.Close()

	waits.mu.Lock()
	defer waits.mu.Unlock()
	fmt.Println("Gets observed:", waits.gets, "the longest waited at least 1ms:", waits.longest >= time.Millisecond)
	// Output:
	// Gets observed: 2 the longest waited at least 1ms: true
}

func ExampleConnPool_Reset() {
	addr, stop := startEcho()
	defer stop()

	pool, err := connpool.New(connpool.Config{Addr: addr, MaxConns: 2, InitialConns: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	held, err := pool.Get(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	pool.Reset() // the server failed over: the idle connection is closed now
	held.Close() // and this one as it comes back
	st := pool.Stats()
	fmt.Println("open:", st.Open, "closed by the reset:", st.ClosedReset)
	// Output:
	// open: 0 closed by the reset: 2
}
