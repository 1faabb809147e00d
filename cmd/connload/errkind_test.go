package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// TestClassify classifies errors made by real sockets, so that it tests
// what the platform reports rather than what we think it reports.
func TestClassify(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	// connect returns a client connection and the server's end of it.
	connect := func() (client, server net.Conn) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		return c, s
	}
	read := func(c net.Conn) error {
		_, err := c.Read(make([]byte, 1))
		return err
	}

	c, s := connect()
	s.(*net.TCPConn).SetLinger(0)
	s.Close()
	resetErr := read(c)
	c.Close()

	c, s = connect()
	s.Close()
	eofErr := read(c)
	c.Close()

	c, s = connect()
	c.SetReadDeadline(time.Now())
	timeoutErr := read(c)
	c.Close()
	s.Close()

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	_, refusedErr := net.Dial("tcp", closed.Addr().String())

	for _, tc := range []struct {
		err  error
		want errKind
	}{
		{resetErr, kindReset},
		{eofErr, kindEOF},
		{io.ErrUnexpectedEOF, kindEOF},
		{timeoutErr, kindTimeout},
		{os.ErrDeadlineExceeded, kindTimeout},
		{fmt.Errorf("connpool: dial: %w", refusedErr), kindRefused},
		{errBadReply, kindOther},
		{errors.New("something else"), kindOther},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
