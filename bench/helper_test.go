package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
)

// The benchmarks that measure a pool against a server run that server in a
// process of its own, so that its goroutines are not scheduled by the
// client's runtime (at GOMAXPROCS 1 they would share the client's one P).
// The process is this test binary run again with helperEnv set, as os/exec's
// own tests do: TestHelperServer then listens on 127.0.0.1:0 and prints its
// addresses on its first line of output, and serves until its standard
// input closes.
const helperEnv = "CONNPOOL_BENCH_HELPER_SERVER"

// TestHelperServer is the server process. It is skipped in ordinary runs.
func TestHelperServer(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("the benchmarks' server process; runs only when they start it")
	}
	raiseFileLimit()
	echoLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	discardLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go acceptLoop(echoLn, echo)
	go acceptLoop(discardLn, func(c net.Conn) { io.Copy(io.Discard, c) })
	fmt.Printf("echo=%s discard=%s\n", echoLn.Addr(), discardLn.Addr())
	io.Copy(io.Discard, os.Stdin) // until the benchmarks close it, or exit
	// Exit here: open connections and their goroutines go with the process,
	// and goleak has nothing to say about them.
	os.Exit(0)
}

func acceptLoop(ln net.Listener, handle func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			handle(c)
		}()
	}
}

// helperAddrs are the addresses of the server process's listeners.
type helperAddrs struct {
	echo    string // echoes what it reads
	discard string // reads and discards; used where no reply is read
}

var helper struct {
	once  sync.Once
	addrs helperAddrs
	err   error
	cmd   *exec.Cmd
	stdin io.Closer
}

// helperServer returns the addresses of the server process, starting it on
// first use. It lives until the benchmarks end (see TestMain).
func helperServer(tb testing.TB) helperAddrs {
	tb.Helper()
	helper.once.Do(func() { helper.addrs, helper.err = startHelper() })
	if helper.err != nil {
		tb.Fatal(helper.err)
	}
	return helper.addrs
}

func startHelper() (helperAddrs, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	cmd.Stderr = os.Stderr // an *os.File: no copying goroutine for goleak to see
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return helperAddrs{}, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return helperAddrs{}, err
	}
	if err := cmd.Start(); err != nil {
		return helperAddrs{}, fmt.Errorf("starting the server process: %w", err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	var a helperAddrs
	if err == nil {
		_, err = fmt.Sscanf(line, "echo=%s discard=%s\n", &a.echo, &a.discard)
	}
	if err != nil {
		stdin.Close()
		cmd.Wait()
		return helperAddrs{}, fmt.Errorf("reading the server process's addresses from %q: %w", line, err)
	}
	helper.cmd, helper.stdin = cmd, stdin
	return a, nil
}

// stopHelper stops the server process, if it was started, and waits for it.
func stopHelper() {
	if helper.cmd == nil {
		return
	}
	helper.stdin.Close()
	helper.cmd.Wait()
	helper.cmd = nil
}

// raiseFileLimit raises this process's soft limit on open files to its hard
// limit: the heap benchmark holds 10,000 sockets, and the server process
// their other ends.
func raiseFileLimit() uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0
	}
	if lim.Cur < lim.Max {
		lim.Cur = lim.Max
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim) != nil {
			syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		}
	}
	return lim.Cur
}
