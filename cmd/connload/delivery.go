package main

import (
	"bytes"
	"context"
	"net"
	"sync"
	"sync/atomic"
)

// A Write on a TCP connection returns once the local kernel has the bytes,
// not once the server has read them, so when a server closes or resets a
// connection, messages the writer was told were sent are lost: those still
// in the server's receive buffer, and those written after it began to
// close. TCP cannot tell the sender which. In write mode against the
// embedded server, which runs in the same process, connload can: a ledger
// pairs each connection the TCPPool writes on with the server's end of it,
// by the client's address, and counts on each the messages written, those
// written after the server began to close it, and those read.

// ledger is the record of every connection of one write-mode run. Its
// methods are safe for concurrent use.
type ledger struct {
	mu     sync.Mutex
	byAddr map[string]*connRecord // the latest connection from each client address
	all    []*connRecord
}

// connRecord counts one connection's messages. Messages are counted by
// their closing newline.
type connRecord struct {
	claimed bool // by the client; guarded by ledger.mu

	written atomic.Uint64 // whole messages the client's socket accepted
	after   atomic.Uint64 // of written, those written once closing was set
	read    atomic.Uint64 // messages the server read
	closing atomic.Bool   // the server has begun to close the connection
}

func newLedger() *ledger { return &ledger{byAddr: map[string]*connRecord{}} }

// dial is the TCPPool's dial: a net.Dialer's, recording the connection.
func (l *ledger) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &trackedConn{Conn: c, rec: l.client(c.LocalAddr().String())}, nil
}

// client returns the record of a new connection from addr. The server may
// have looked it up first, if it began to close the connection before the
// dial returned.
func (l *ledger) client(addr string) *connRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.byAddr[addr]; r != nil && !r.claimed {
		r.claimed = true
		return r
	}
	// Any record there is of an earlier connection whose port the system
	// has given to this one: it is closed on our side.
	r := &connRecord{claimed: true}
	l.byAddr[addr] = r
	l.all = append(l.all, r)
	return r
}

// server returns the record of the connection from addr the server has
// accepted. The server looks it up when the first bytes arrive, which the
// client writes only after its dial returned, so the record is the one of
// this connection and not of an earlier one on the same port.
func (l *ledger) server(addr string) *connRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r := l.byAddr[addr]; r != nil {
		return r
	}
	r := &connRecord{}
	l.byAddr[addr] = r
	l.all = append(l.all, r)
	return r
}

// lostAfterClose returns, of the messages written but never read, how
// many were written after the server began to close their connection.
// The server reads a connection's messages in the order they were
// written, so the lost are the last ones written on it, and those written
// after closing began are the last of all: the two overlap by the smaller.
func (l *ledger) lostAfterClose() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	var n uint64
	for _, r := range l.all {
		if w, rd := r.written.Load(), r.read.Load(); w > rd {
			n += min(w-rd, r.after.Load())
		}
	}
	return n
}

// trackedConn counts what is written on a connection in its record.
type trackedConn struct {
	net.Conn
	rec *connRecord
}

func (c *trackedConn) Write(b []byte) (int, error) {
	after := c.rec.closing.Load()
	n, err := c.Conn.Write(b)
	if m := uint64(bytes.Count(b[:n], newline)); m > 0 {
		c.rec.written.Add(m)
		if after {
			c.rec.after.Add(m)
		}
	}
	return n, err
}

// NetConn returns the socket, which the TCPPool's idle probe looks at.
func (c *trackedConn) NetConn() net.Conn { return c.Conn }

var newline = []byte{'\n'}
