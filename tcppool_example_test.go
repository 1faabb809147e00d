package connpool_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/seed-a245f091/connpool"
)

// exampleLineServer listens on 127.0.0.1 and sends every line any connection
// brings to lines. stop closes it and waits for its goroutines.
func exampleLineServer() (addr string, lines <-chan string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	ch := make(chan string, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for sc := bufio.NewScanner(c); sc.Scan(); {
					ch <- sc.Text()
				}
			}()
		}
	}()
	return ln.Addr().String(), ch, func() { ln.Close(); wg.Wait() }
}

// Code written for github.com/samber/go-tcp-pool works after changing the
// import path.
func ExampleDial() {
	addr, lines, stop := exampleLineServer()
	defer stop()

	conn, err := connpool.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close() // before stop: the server's connections end with it

	if err := conn.SetPoolSize(3); err != nil {
		log.Fatal(err)
	}
	conn.SetMaxRetries(10)
	conn.SetRetryInterval(10 * time.Millisecond)

	for _, msg := range []string{"Hello", "world", "!"} {
		if _, err := conn.Write([]byte(msg + "\n")); err != nil {
			log.Fatal(err)
		}
	}
	// The lines may travel on different connections, so they arrive in
	// any order.
	got := []string{<-lines, <-lines, <-lines}
	slices.Sort(got)
	fmt.Println(got)
	// Output: [! Hello world]
}

// A TCPClient wraps one connection and redials its address when a Write
// finds it closed; for more than one connection, or Read, use a TCPPool.
func ExampleTCPClient() {
	addr, lines, stop := exampleLineServer()
	defer stop()

	nc, err := net.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	client := &connpool.TCPClient{TCPConn: nc.(*net.TCPConn)}
	defer client.Close()
	client.SetMaxRetries(3)
	client.SetRetryInterval(10 * time.Millisecond)

	if _, err := client.Write([]byte("Hello\n")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-lines)
	// Output: Hello
}

// A pool over two backends, with four connections spread over them.
func ExampleDialPool() {
	addr1, lines1, stop1 := exampleLineServer()
	defer stop1()
	addr2, lines2, stop2 := exampleLineServer()
	defer stop2()

	pool, err := connpool.DialPool(context.Background(), connpool.TCPPoolConfig{
		Addrs:    []string{addr1, addr2},
		Size:     4,
		Balancer: connpool.RoundRobin(),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	for i := range 4 {
		fmt.Fprintf(pool, "message %d\n", i)
	}
	var got []string
	for range 2 {
		got = append(got, <-lines1, <-lines2)
	}
	slices.Sort(got)
	fmt.Println(got)
	st := pool.Stats()
	fmt.Printf("%d writes, %d bytes, %d of %d connections up\n", st.Writes, st.Bytes, st.ConnsUp, st.Size)
	// Output:
	// [message 0 message 1 message 2 message 3]
	// 4 writes, 40 bytes, 4 of 4 connections up
}
