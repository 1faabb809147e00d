package connpool_test

import (
	"fmt"
	"log"
	"slices"
	"time"

	pool "github.com/seed-a245f091/connpool" // go-tcp-pool's package name
)

// Code written for github.com/samber/go-tcp-pool works after changing the
// import path. go-tcp-pool's package is named pool and this one connpool:
// import this one under that name, as here, or import
// github.com/seed-a245f091/connpool/samber, a package named pool.
func ExampleDial() {
	addr, lines, stop := exampleLineServer()
	defer stop()

	conn, err := pool.Dial("tcp", addr)
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
