package pool_test

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"time"

	pool "github.com/seed-a245f091/connpool/samber"
)

// Code written against samber/go-tcp-pool v1 runs with only its import
// path changed, and its Read works.
func ExampleDial() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	lines := make(chan string)
	go func() { // a server that passes on the first line it reads
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		lines <- line
	}()

	conn, err := pool.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxRetries(10)
	conn.SetRetryInterval(10 * time.Millisecond)

	if _, err := conn.Write([]byte("Hello, world!\n")); err != nil {
		log.Fatal(err)
	}
	fmt.Print(<-lines)
	// Output: Hello, world!
}
