// Command connload drives an echo server through a connpool pool and prints
// what it measured. With no flags it starts its own echo server on
// 127.0.0.1, so it needs nothing installed.
//
//	go run ./cmd/connload [-addr host:port] [-clients 64] [-conns 8] [-duration 3s] [-size 64]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/seed-a245f091/connpool"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "connload:", err)
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("connload", flag.ContinueOnError)
	addr := fs.String("addr", "", "echo server to drive (default: start one on 127.0.0.1)")
	clients := fs.Int("clients", 64, "concurrent clients")
	conns := fs.Int("conns", 8, "maximum open connections in the pool")
	duration := fs.Duration("duration", 3*time.Second, "how long to run")
	size := fs.Int("size", 64, "message size in bytes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *clients < 1 || *conns < 1 || *size < 1 || *duration <= 0 {
		return errors.New("-clients, -conns, -size and -duration must be positive")
	}
	if *addr == "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		defer ln.Close()
		go serveEcho(ln)
		*addr = ln.Addr().String()
	}

	pool, err := connpool.New(connpool.Config{
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", *addr)
		},
		DialTimeout: 5 * time.Second,
		MaxConns:    *conns,
	})
	if err != nil {
		return err
	}
	defer pool.Close()

	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		wg        sync.WaitGroup
	)
	msg := make([]byte, *size)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	start := time.Now()
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, len(msg))
			var mine []time.Duration
			fails := 0
			for ctx.Err() == nil {
				t0 := time.Now()
				if err := roundTrip(ctx, pool, msg, buf); err != nil {
					if ctx.Err() == nil {
						fails++
					}
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			failures += fails
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	slices.Sort(latencies)
	pct := func(q float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[int(q*float64(len(latencies)-1))]
	}
	fmt.Fprintf(out, "server      %s\n", *addr)
	fmt.Fprintf(out, "requests    %d in %v (%.0f/s), %d failed\n", len(latencies), elapsed.Round(time.Millisecond), float64(len(latencies))/elapsed.Seconds(), failures)
	fmt.Fprintf(out, "latency     p50 %v  p90 %v  p99 %v\n", pct(0.5), pct(0.9), pct(0.99))
	fmt.Fprintf(out, "connections %d open, %d idle\n", pool.NumberOfConns(), pool.Len())
	return nil
}

// roundTrip sends msg on a pooled connection and reads the echo into buf.
func roundTrip(ctx context.Context, pool *connpool.ConnPool, msg, buf []byte) error {
	c, err := pool.Get(ctx)
	if err != nil {
		return err
	}
	if _, err = c.Write(msg); err == nil {
		_, err = io.ReadFull(c, buf)
	}
	if err != nil {
		c.(*connpool.PoolConn).MarkUnusable()
	}
	c.Close()
	return err
}

func serveEcho(ln net.Listener) {
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
}
