package connpool

import (
	"net"
	"sync"
	"time"

	"github.com/seed-a245f091/connpool/internal/sock"
)

// ErrPeerClosed is what the probe reports of a connection its peer closed.
var ErrPeerClosed = sock.ErrPeerClosed

// ProbeConns returns what the idle probe says of each connection up now.
func (p *TCPPool) ProbeConns() []error {
	var errs []error
	for _, s := range *p.slots.Load() {
		if lc := s.live.Load(); lc != nil {
			errs = append(errs, sock.Probe(lc.Conn))
		}
	}
	return errs
}

// WaitConnsUp waits until exactly n connections are up, and reports
// whether that happened within timeout. It wakes on every connection that
// comes up, the way a waiting Write does, so it never polls; it suits
// waits for connections to come up, not to go down.
func (p *TCPPool) WaitConnsUp(n int, timeout time.Duration) bool {
	expired := time.NewTimer(timeout)
	defer expired.Stop()
	for {
		wake := p.sleep()
		if p.Stats().ConnsUp == n {
			p.unsleep()
			return true
		}
		select {
		case <-wake:
			p.unsleep()
		case <-expired.C:
			p.unsleep()
			return false
		}
	}
}

// NewTestConnSet returns a ConnSet of len(inflight) connections for balancer
// tests: connection i is down if inflight[i] is negative, and otherwise up
// with inflight[i] Writes in progress.
func NewTestConnSet(inflight ...int) ConnSet {
	slots := make([]*slot, len(inflight))
	for i, n := range inflight {
		slots[i] = &slot{}
		if n >= 0 {
			lc := &liveConn{addr: "backend"}
			lc.refs.Store(int64(n) + 1)
			slots[i].live.Store(lc)
		}
	}
	return ConnSet{slots}
}

// WaitPeerClosed waits until the kernel has the peer's FIN or RST for the
// pool's only connection up, without reading it, and reports whether that
// happened within timeout: the runtime's poller wakes the check when the
// socket turns readable.
func (p *TCPPool) WaitPeerClosed(timeout time.Duration) bool {
	var lc *liveConn
	for _, s := range *p.slots.Load() {
		if l := s.live.Load(); l != nil {
			lc = l
		}
	}
	if lc == nil {
		return false
	}
	return WaitConnPeerClosed(lc.Conn, timeout)
}

// SlotConn returns the connection up in slot i, or nil.
func (p *TCPPool) SlotConn(i int) net.Conn {
	if lc := (*p.slots.Load())[i].live.Load(); lc != nil {
		return lc.Conn
	}
	return nil
}

// WaitConnPeerClosed is WaitPeerClosed for the connection c.
func WaitConnPeerClosed(c net.Conn, timeout time.Duration) bool {
	var s sock.Socket
	s.Init(c)
	rc := s.RawConn()
	if rc == nil {
		return false
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	defer c.SetReadDeadline(time.Time{})
	err := rc.Read(func(uintptr) bool {
		err := s.Probe()
		return err == sock.ErrPeerClosed || err == sock.ErrClosedAfterData
	})
	return err == nil
}

// OpenConns returns the number of connections the pool holds open, up or
// not.
func (p *TCPPool) OpenConns() int {
	p.liveMu.Lock()
	defer p.liveMu.Unlock()
	return len(p.live)
}

// Sleepers returns the number of Reads and Writes waiting on the pool's
// wake channel.
func (p *TCPPool) Sleepers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sleepers
}

// OnWait makes f run each time a Write of c starts to wait between two
// tries. Call it before the first Write.
func (c *TCPClient) OnWait(f func()) { c.testHookWait = f }

// OnRedial makes f run each time a Write of c starts to redial, and bounds
// each redial by timeout instead of the default. Call it before the first
// Write.
func (c *TCPClient) OnRedial(f func(), timeout time.Duration) {
	c.testHookDial = f
	c.dialTimeout = timeout
}

// PeerGoneSeen returns a channel closed once the socket watcher has told
// the pool of a peer's close and the pool has acted on it.
func (p *TCPPool) PeerGoneSeen() <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	hook := func() { once.Do(func() { close(ch) }) }
	p.testHookGone.Store(&hook)
	return ch
}
