package sock

import (
	"io"
	"net"
	"testing"
	"time"
)

// startWatcher returns a watcher whose events arrive on the channel, and
// stops it when the test ends.
func startWatcher(t *testing.T) (*Watcher, <-chan uint64) {
	t.Helper()
	w, err := NewWatcher()
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan uint64, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Wait(func(token uint64) { events <- token })
	}()
	t.Cleanup(func() {
		w.Close()
		<-done
	})
	return w, events
}

func watch(t *testing.T, w *Watcher, c net.Conn, token uint64) {
	t.Helper()
	if err := w.Add(socketOf(c), token); err != nil {
		t.Fatal(err)
	}
}

func nextEvent(t *testing.T, events <-chan uint64) uint64 {
	t.Helper()
	select {
	case token := <-events:
		return token
	case <-time.After(10 * time.Second):
		t.Fatal("no event from the watcher")
		return 0
	}
}

// Round trips and bytes sent unasked raise nothing; a peer's FIN and a
// peer's RST each raise one event with the socket's token. Each case ends
// with a close whose event must be the next one, so an event raised by
// traffic would show up in its place.
func TestWatcherHearsCloseAndResetButNotTraffic(t *testing.T) {
	w, events := startWatcher(t)
	const big = 1<<40 + 7 // a token that needs both halves of epoll's data

	busy, busyPeer := tcpPair(t)
	watch(t, w, busy, 1)
	buf := make([]byte, 4)
	for range 100 {
		if _, err := busy.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(busyPeer, buf); err != nil {
			t.Fatal(err)
		}
		if _, err := busyPeer.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(busy, buf); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := busyPeer.Write([]byte("unasked")); err != nil {
		t.Fatal(err)
	}
	waitSocket(t, busy, readable)

	closed, closedPeer := tcpPair(t)
	watch(t, w, closed, big)
	closedPeer.Close()
	if got := nextEvent(t, events); got != big {
		t.Fatalf("first event has token %d, want %d (the closed socket)", got, uint64(big))
	}

	reset, resetPeer := tcpPair(t)
	watch(t, w, reset, 3)
	resetPeer.(*net.TCPConn).SetLinger(0)
	resetPeer.Close()
	if got := nextEvent(t, events); got != 3 {
		t.Fatalf("event has token %d, want 3 (the reset socket)", got)
	}

	// The traffic socket closes last: its event is the first it raised.
	busyPeer.Close()
	if got := nextEvent(t, events); got != 1 {
		t.Fatalf("event has token %d, want 1", got)
	}
}

// A socket whose peer closed before it was added raises its event at once;
// a socket closed on this side leaves the set without a word.
func TestWatcherAddAfterCloseAndOwnClose(t *testing.T) {
	w, events := startWatcher(t)
	early, earlyPeer := tcpPair(t)
	earlyPeer.Close()
	waitSocket(t, early, readable)
	watch(t, w, early, 7)
	if got := nextEvent(t, events); got != 7 {
		t.Fatalf("event has token %d, want 7", got)
	}

	mine, minePeer := tcpPair(t)
	s := socketOf(mine)
	if err := w.Add(s, 8); err != nil {
		t.Fatal(err)
	}
	mine.Close()
	minePeer.Close()
	if err := w.Add(s, 9); err == nil {
		t.Error("Add of a closed socket succeeded")
	}
	marker, markerPeer := tcpPair(t)
	watch(t, w, marker, 10)
	markerPeer.Close()
	if got := nextEvent(t, events); got != 10 {
		t.Fatalf("event has token %d, want 10: a socket closed on this side raised one", got)
	}
}

func TestWatcherRejectsConnWithoutSocket(t *testing.T) {
	w, _ := startWatcher(t)
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := w.Add(socketOf(a), 1); err == nil {
		t.Error("Add of a net.Pipe succeeded")
	}
}
