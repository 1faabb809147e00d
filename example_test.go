package connpool_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
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
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
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

	pool, err := connpool.New(connpool.Config{
		Dial:     func(context.Context, string, string) (net.Conn, error) { return net.Dial("tcp", addr) },
		MaxConns: 1,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	if _, err := pool.TryGet(); err != nil {
		fmt.Println(err) // nothing idle yet; a dial starts in the background
	}
	conn, err := pool.Get(context.Background()) // takes the dialled connection
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fmt.Println("open:", pool.NumberOfConns())
	// Output:
	// connpool: no idle connection available
	// open: 1
}
