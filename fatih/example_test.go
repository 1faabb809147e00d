package pool_test

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"

	pool "github.com/seed-a245f091/connpool/fatih"
)

// Code written against fatih/pool v3 runs with only its import path
// changed: Get takes no context, and Close gives the connection back.
func ExampleNewChannelPool() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	go func() { // a line echo server
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

	factory := func() (net.Conn, error) { return net.Dial("tcp", ln.Addr().String()) }
	p, err := pool.NewChannelPool(1, 4, factory)
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()

	conn, err := p.Get()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprintln(conn, "hello")
	reply, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		// A connection whose state is unknown must not go back.
		conn.(*pool.PoolConn).MarkUnusable()
	}
	conn.Close() // back to the pool
	fmt.Print(reply)
	fmt.Println("idle:", p.Len())
	// Output:
	// hello
	// idle: 1
}
