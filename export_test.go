package connpool

import "time"

// WaitDials blocks until no dial started by the pool is in flight.
func (p *ConnPool) WaitDials() { p.dials.Wait() }

// Waiting returns the number of Gets waiting in line.
func (p *ConnPool) Waiting() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waiters.len()
}

// WaitWaiting waits until n Gets wait in line, and reports whether that
// happened within timeout.
func (p *ConnPool) WaitWaiting(n int, timeout time.Duration) bool {
	joined := make(chan struct{}, 1)
	p.mu.Lock()
	p.testHookWait = func() {
		select {
		case joined <- struct{}{}:
		default:
		}
	}
	p.mu.Unlock()
	expired := time.After(timeout)
	for {
		if p.Waiting() == n {
			return true
		}
		select {
		case <-joined:
		case <-expired:
			return false
		}
	}
}
