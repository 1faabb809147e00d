package connpoolprom_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/seed-a245f091/connpool"
	connpoolprom "github.com/seed-a245f091/connpool/prometheus"
)

// startEcho starts an echo server on a free port of 127.0.0.1 and returns
// its address and a function that stops it.
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

// A checkout pool and a reconnecting connection, exported on /metrics. A
// program would register with the default registry and serve
// promhttp.Handler():
//
//	prometheus.MustRegister(connpoolprom.NewCollector(cache, logs))
//	http.Handle("/metrics", promhttp.Handler())
func Example() {
	addr, stop := startEcho()
	defer stop()
	ctx := context.Background()

	cache, err := connpool.New(connpool.Config{Name: "cache", Addr: addr, MaxConns: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Drain(ctx)
	logs, err := connpool.DialPool(ctx, connpool.TCPPoolConfig{Name: "logs", Addrs: []string{addr}, Size: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer logs.Close()

	reg := prometheus.NewRegistry()
	reg.MustRegister(connpoolprom.NewCollector(cache, logs))
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()

	for range 3 { // the first dials, the others reuse its connection
		conn, err := cache.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		conn.Close()
	}
	fmt.Fprintln(logs, "started")

	resp, err := srv.Client().Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, name := range []string{"connpool_gets_total", "connpool_open_connections", "connpool_wait_seconds_count", "connpool_writes_total"} {
			if strings.HasPrefix(line, name) || strings.HasPrefix(line, "# HELP "+name+" ") {
				fmt.Println(line)
			}
		}
	}
	// Output:
	// # HELP connpool_gets_total Gets that returned, by outcome: served from the idle list, after waiting, ended by their context, or failed.
	// connpool_gets_total{outcome="canceled",pool="cache"} 0
	// connpool_gets_total{outcome="failed",pool="cache"} 0
	// connpool_gets_total{outcome="idle",pool="cache"} 2
	// connpool_gets_total{outcome="waited",pool="cache"} 1
	// # HELP connpool_open_connections Connections open: idle, in use and being dialled (for a TCPPool, connections up).
	// connpool_open_connections{pool="cache"} 1
	// connpool_open_connections{pool="logs"} 2
	// connpool_wait_seconds_count{pool="cache"} 3
	// connpool_wait_seconds_count{pool="logs"} 1
	// # HELP connpool_writes_total Writes that returned no error.
	// connpool_writes_total{pool="logs"} 1
}

// A pool closed while the program runs leaves the Collector with Remove,
// and its series leave the scrape.
func ExampleCollector_Remove() {
	addr, stop := startEcho()
	defer stop()
	ctx := context.Background()

	cache, err := connpool.New(connpool.Config{Name: "cache", Addr: addr, MaxConns: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	tenant, err := connpool.New(connpool.Config{Name: "tenant-42", Addr: addr, MaxConns: 4})
	if err != nil {
		log.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	c := connpoolprom.NewCollector(cache, tenant)
	reg.MustRegister(c)
	pools := func() []string {
		fams, err := reg.Gather()
		if err != nil {
			log.Fatal(err)
		}
		var names []string
		for _, f := range fams {
			if f.GetName() != "connpool_max_connections" {
				continue
			}
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "pool" {
						names = append(names, l.GetValue())
					}
				}
			}
		}
		return names
	}
	fmt.Println("exported:", pools())

	tenant.Drain(ctx) // the tenant left
	c.Remove(tenant)
	fmt.Println("exported:", pools())
	// Output:
	// exported: [cache tenant-42]
	// exported: [cache]
}
