package connpool_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"slices"
	"strings"
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

// A TCPClient wraps one connection and redials its address when a Write
// finds it closed; for more than one connection, or Read, use a TCPPool.
func ExampleTCPClient() {
	// A server that closes each connection after its first line, as one
	// with a short idle timeout would.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	lines := make(chan string, 2)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			lines <- strings.TrimSuffix(line, "\n")
		}
	}()
	defer func() { ln.Close(); <-done }()

	nc, err := net.Dial("tcp", ln.Addr().String())
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

	// The server has closed the connection. Read waits here only until its
	// close reaches the client, so that the output does not depend on
	// timing: a Write in the moment before would hand its bytes to the
	// kernel, and they would be lost.
	if _, err := client.Read(make([]byte, 1)); err != io.EOF {
		log.Fatal("Read: ", err)
	}
	// This Write finds the connection closed, redials and sends on the new
	// connection.
	if _, err := client.Write([]byte("again\n")); err != nil {
		log.Fatal(err)
	}
	fmt.Println(<-lines)
	fmt.Println("redialled:", client.TCPConn != nc)
	// Output:
	// Hello
	// again
	// redialled: true
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
	// RoundRobin puts two of the four connections, and so two messages,
	// on each backend.
	recv := func(lines <-chan string, backend int) string {
		select {
		case l := <-lines:
			return l
		case <-time.After(5 * time.Second):
			return fmt.Sprintf("(backend %d got fewer than 2 messages)", backend)
		}
	}
	var got []string
	for range 2 {
		got = append(got, recv(lines1, 1), recv(lines2, 2))
	}
	slices.Sort(got)
	fmt.Println(got)
	st := pool.Stats()
	fmt.Printf("%d writes, %d bytes, %d of %d connections up\n", st.Writes, st.Bytes, st.ConnsUp, st.Size)
	// Output:
	// [message 0 message 1 message 2 message 3]
	// 4 writes, 40 bytes, 4 of 4 connections up
}
