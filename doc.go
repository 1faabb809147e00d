// Package connpool pools network connections.
//
// It does two jobs:
//
//   - [ConnPool] is a checkout pool: [ConnPool.Get] lends a connection to one
//     holder, whose Close gives it back. [NewChannelPool] builds one with the
//     API of buraksezer/connpool v0.6.0, so code written against it builds
//     unchanged once the import path is changed; the package
//     github.com/seed-a245f091/connpool/fatih does the same for
//     fatih/pool v3.
//   - [TCPPool] is a net.Conn that spreads writes over several connections
//     and reconnects by itself, with the API of samber/go-tcp-pool v1.
//
// The package depends on the standard library alone. Both pools dial
// through a [DialFunc] (the signature of net.Dialer.DialContext), back off
// the same way while dials fail ([Config.DialBackoff]), probe idle
// connections the same way ([Config.ProbeAfter]), and report to the same
// [Observer] and [log/slog] logger.
//
// # Checkout pool
//
// A ConnPool keeps at most [Config.MaxConns] connections open, counting those
// idle, checked out, being dialled and being closed. A Get takes the most
// recently returned idle connection, or dials one if there is room, or
// else waits in line; it ends early with its context's error, or with
// [ErrClosed] when the pool closes.
//
// A connection given back goes to the idle list and wakes the longest
// waiting Get; a Get that is already running may take the connection
// first, and the woken one then waits again at the front of the line
// (behind any that joined it earlier and were woken too). With
// many more goroutines than processors this keeps connections moving: a
// connection handed to a parked goroutine stays out until the scheduler
// gets round to that goroutine, and when every Get has to wait for that,
// every Get waits (a convoy). So that no Get waits for long, once the
// longest waiter has waited 50µs, connections given back go straight to
// the waiters in line, first come first served, until the line has caught
// up. This is how sync.Mutex is fair without convoys, with a shorter
// threshold because a pool's holders do I/O: on loopback round trips with
// two clients per connection it keeps the p99 of a Get's wait within about
// a tenth of first come, first served's (95–100µs against 86–93µs, where a
// threshold of 250µs had 260µs).
// A new connection goes straight to the longest waiter in line.
//
// Dials run apart from the Get that asked for them: a Get whose context ends
// during a slow dial returns at once, and the dial's connection, when it
// comes, serves the next waiter or joins the idle list. A failed dial frees
// its slot and its error goes to the longest waiter, so while a server is
// down each waiting Get fails once rather than waiting for ever. While
// dials fail the pool dials one at a time, each after a jittered wait that
// grows with the outage from [Config.DialBackoff] up to a cap
// ([Config.MaxDialBackoff]), so the first attempt after the server is back
// comes within a quarter of the outage, or within DialBackoff if that is
// longer; the first success ends it.
// A dial function that returns neither a connection nor an error is an
// error ([ErrNilConn]), never a nil connection.
//
// A connection comes wrapped in a [*PoolConn]. Its Close gives the socket
// back; after [PoolConn.MarkUnusable], or a Read or Write through it that
// failed (a timeout included, since the late reply would reach the next
// holder), Close closes the socket and frees its slot for a new dial.
// Every checkout lends the socket through a PoolConn never handed out
// before, so nothing done with a PoolConn after its Close (a second Close,
// a late Read, a deadline, the embedded Conn field) reaches the socket's
// next holder; see [PoolConn]. A deadline set through a PoolConn is
// cleared when it comes back.
//
// [ConnPool.Close] closes the idle connections at once, fails waiting Gets
// with ErrClosed, and closes checked-out connections as they come back and
// dialled ones as their dials finish; [ConnPool.Drain] does the same and
// waits, up to a context. [ConnPool.Reset] closes every connection dialled
// so far, idle ones at once and checked-out ones as they come back, and
// keeps the pool open: for a server that failed over.
//
// # Stale connections
//
// The commonest pool failure is a connection the server closed while it sat
// idle (a restart, or the server's own idle timeout): the first request on
// it fails. connpool finds such connections two ways.
//
// On Linux, each pooled socket is added, once, to an epoll set of the
// pool's own, for the peer's close (EPOLLRDHUP) and reset: a goroutine of
// the pool sleeps on it in the runtime's poller and hears of a FIN or RST
// as the kernel does, whatever the connection's idle time, while a
// connection's traffic never wakes it. An idle connection so closed is
// closed by the pool at once (and [Config.MinIdleConns] dials its
// replacement before anyone asks); one checked out is closed when it comes
// back. This costs Get and the connection's traffic nothing.
//
// Everywhere, before handing out a connection that has been idle at least
// [Config.ProbeAfter] (1ms by default), Get peeks at its socket with one
// non-blocking system call and no round trip: if the peer has closed or
// reset it, or sent bytes nobody asked for, the connection is closed and
// Get takes another or dials. The peek looks through *tls.Conn and any
// wrapper with a NetConn method; on TLS, waiting bytes are no alarm
// (servers send session tickets unasked), only a close is, and a read
// deadline left on the connection is no alarm either. Linux, macOS and
// the BSDs have the peek; elsewhere it is skipped. So a close is missed
// only when it arrives in the moment (microseconds, in practice) before
// the pool hears of it, on a connection idle for less than ProbeAfter, or,
// off Linux, on any connection idle for less than ProbeAfter. Bytes sent
// unasked to a connection idle for less than ProbeAfter are not seen
// either; their usual source, the late reply to a request whose Read
// timed out, never reaches a pooled connection, since a failed Read or
// Write makes its connection unusable (see [PoolConn]).
// [Config.HealthCheck] adds a protocol-level check for connections idle
// at least [Config.HealthCheckAfter].
//
// A connection closed because it failed (a failed Read or Write,
// MarkUnusable, the peek, HealthCheck, or its peer's close) is closed
// without a goodbye: under TLS, no close_notify alert, which crypto/tls
// would wait up to five seconds to send to a peer that has stopped
// reading, in the holder's Close. Connections closed for any other reason
// (idle timeout, lifetime, Reset, the pool's Close) get one; Close and
// Reset say those goodbyes concurrently, so a server that stopped reading
// holds them up once, not once per idle connection.
//
// A server that closes connections before their first use (one at its
// connection limit, say) would have the MinIdleConns top-up dial and lose
// them in a loop; the top-up backs off from it as from failed dials. An
// unused connection closed within MaxDialBackoff of its dial counts as
// such a failure; one closed later (by the server's idle timeout, say) is
// only stale.
//
// # Ageing, sizing and observing
//
// [Config.IdleTimeout] and [Config.MaxLifetime] (with a jitter drawn once per
// connection) close connections in the background; [Config.MaxIdleConns]
// closes returns beyond it; [Config.MinIdleConns] keeps spare connections
// dialled. Idle connections are reused most recently returned first
// ([LIFO]), so that under a light load a few stay warm and the rest time
// out; [FIFO] is the option. This runs in one maintenance goroutine that
// exists only while it has work and never dials itself, so nothing it
// waits on delays it. Every Get reads the clock itself, so ages and
// timeouts hold to the clock's resolution whatever the pool's goroutines
// are doing.
//
// [ConnPool.Stats] returns gauges and counters (Gets by outcome, wait
// time, dials, closes by reason, leaks) that add up. [ConnPool.Observe]
// adds an [Observer], called with each Get's wait, each checkout's use and
// each dial's time, for histograms; the modules
// github.com/seed-a245f091/connpool/prometheus and .../otel export all of
// it. [Config.Logger] logs what an operator needs, never a record per Get,
// and [Config.LeakThreshold] warns, with the stack of the Get, of a
// connection held too long. [Config.OnDial] and [Config.OnClose] report each
// dial and close as it happens.
//
// # Callbacks
//
// A HealthCheck, OnDial, OnClose or Observer that panics leaves no slot and
// no lock behind: the pool settles its books first. The panic then goes on
// to the caller of the Get, TryGet, Close, Reset, Drain or New that ran the
// callback (an OnClose that panics in Close, Reset or Drain, which close
// many connections at once, does so once every socket is closed, and the
// connections after it go unreported). In a background dial or in the
// pool's goroutines it ends the program, as any unrecovered panic in a
// goroutine does. So does a dial function that panics, but for New's initial dials, whose panic
// reaches New's caller with the connections already dialled closed. The
// pool's goroutines include those that close, so that no goodbye holds up
// what must not wait (crypto/tls lets one wait five seconds on a server
// that reads nothing), a connection with a layer over its socket (TLS, a
// wrapper) that a Get, a TryGet or the maintainer closes for its age or
// for Reset; its OnClose runs there too. A connection whose own Close
// panics (a wrapper's) is treated alike: its slot is freed, OnClose hears
// of it, and the panic goes on once every other connection being closed
// with it is closed. The connection's own methods that the pool calls to
// take it in (RemoteAddr, and a wrapper's NetConn or SyscallConn) run
// outside the pool's lock, as a dial function does.
//
// # Performance
//
// Get and Close of an idle connection used within ProbeAfter (a hot pool)
// take the pool's mutex once each (a Get that peeks, twice more; with
// LeakThreshold, a Get once more, and it allocates the record of its
// caller's stack), read the clock once (and a second time on return
// only with IdleTimeout, MaxLifetime, HealthCheck, LeakThreshold or an
// Observer), and allocate nothing but the PoolConn handles, which come 8 at a time from a
// pool-wide block: 32 bytes and an eighth of an allocation a checkout
// (which go test's allocs/op rounds down to 0), garbage once no holder
// keeps any handle of the block. BENCHMARKS.md has the figures on real
// sockets beside jackc/puddle, fatih/pool, buraksezer/connpool,
// silenceper/pool and a naive channel pool.
//
// # Reconnecting connection
//
// A [TCPPool] is a net.Conn over several connections, for streams such as
// logs or metrics where any connection will do. Each Write goes whole onto
// one connection chosen by a [Balancer] (round-robin by default); writes
// from several goroutines go out in parallel; a broken connection is
// redialled in the background and a Write that found it broken before
// sending anything moves on to another. With one connection it is an
// ordinary net.Conn that reconnects, Read included. Its type documentation
// gives the details; [Dial], [DialTCP] and the setters keep the API of
// samber/go-tcp-pool v1, and [TCPClient] keeps the shape of its one
// reconnecting connection.
//
// # Migrating from buraksezer/connpool or fatih/pool
//
// Change the import path: buraksezer/connpool's code to this package,
// fatih/pool's to github.com/seed-a245f091/connpool/fatih. The
// differences are fixes and additions:
//
//   - maxCap is a hard limit, as in buraksezer/connpool v0.6.0: at the
//     limit Get waits for a returned connection or its context. fatih/pool
//     dialled past it; code that held more than maxCap connections at once
//     now waits, and with fatih's Get, which takes no context, for ever.
//   - Close twice, or Close after the pool closed, no longer hands one
//     socket to two holders or frees another holder's slot.
//   - A factory returning (nil, nil) is an error from Get.
//   - A PoolConn whose Read or Write failed, a timeout included, is closed
//     by its Close, as if MarkUnusable had been called, so that a late
//     reply cannot reach the next holder.
//   - Errors from NewChannelPool wrap [ErrInvalidConfig] or the factory's
//     error, so errors.Is works.
//   - Idle connections the server has closed are not handed out.
//
// # Migrating from samber/go-tcp-pool
//
// Change the import path to github.com/seed-a245f091/connpool/samber,
// whose package is named pool, as go-tcp-pool's is, so that an import
// with no name builds too; its TCPPool and TCPClient are this package's,
// by alias. Importing this package under the name pool does the same:
//
//	import pool "github.com/seed-a245f091/connpool"
//
// SetMaxRetries counts attempts in all, as go-tcp-pool does (0 means one
// attempt, where go-tcp-pool failed every Write). Read works, where
// go-tcp-pool's always returned -1 and an error. Write never reports a
// negative count. Write after Close returns an error wrapping
// net.ErrClosed, as Read after Close does, where go-tcp-pool's Write
// panicked (it took an index modulo the pool's size, 0 after Close).
// SetPoolSize(0) is an error that changes nothing, where go-tcp-pool took
// it and then panicked the same way at every Write. A Write after the
// server closed an idle connection goes to a new connection instead of
// being lost.
package connpool
