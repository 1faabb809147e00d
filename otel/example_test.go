package connpoolotel_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"sort"
	"strings"

	"github.com/seed-a245f091/connpool"
	connpoolotel "github.com/seed-a245f091/connpool/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
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

// A checkout pool reported through an SDK meter provider, here with a
// ManualReader so that the example can print what a collection holds; a
// program would give the provider an exporter's reader, or set it as the
// global provider and leave out WithMeterProvider.
func Example() {
	addr, stop := startEcho()
	defer stop()
	ctx := context.Background()

	pool, err := connpool.New(connpool.Config{Name: "cache", Addr: addr, MaxConns: 4})
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Drain(ctx)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)
	reg, err := connpoolotel.Instrument(pool, connpoolotel.WithMeterProvider(mp))
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Unregister()

	for range 3 { // the first dials, the others reuse its connection
		conn, err := pool.Get(ctx)
		if err != nil {
			log.Fatal(err)
		}
		conn.Close()
	}

	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	var lines []string
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s %d %s", m.Name, others(p.Attributes), p.Value, m.Unit))
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("%s%s count %d", m.Name, others(p.Attributes), p.Count))
				}
			}
		}
	}
	sort.Strings(lines)
	for _, l := range lines {
		if strings.HasPrefix(l, "db.client.connection.") || strings.HasPrefix(l, "connpool.gets") {
			fmt.Println(l)
		}
	}
	// Output:
	// connpool.gets{connpool.get.outcome=canceled} 0 {get}
	// connpool.gets{connpool.get.outcome=failed} 0 {get}
	// connpool.gets{connpool.get.outcome=idle} 2 {get}
	// connpool.gets{connpool.get.outcome=waited} 1 {get}
	// db.client.connection.count{db.client.connection.state=idle} 1 {connection}
	// db.client.connection.count{db.client.connection.state=used} 0 {connection}
	// db.client.connection.create_time count 1
	// db.client.connection.idle.max 4 {connection}
	// db.client.connection.idle.min 0 {connection}
	// db.client.connection.max 4 {connection}
	// db.client.connection.pending_requests 0 {request}
	// db.client.connection.timeouts 0 {timeout}
	// db.client.connection.use_time count 3
	// db.client.connection.wait_time count 3
}

// others formats the attributes of s other than the pool's name, which
// every data point here has.
func others(s attribute.Set) string {
	var kvs []string
	for _, kv := range s.ToSlice() {
		if kv.Key != "db.client.connection.pool.name" {
			kvs = append(kvs, string(kv.Key)+"="+kv.Value.String())
		}
	}
	if len(kvs) == 0 {
		return ""
	}
	return "{" + strings.Join(kvs, ",") + "}"
}
