// Package connpool pools network connections.
//
// It does two jobs:
//
//   - [ConnPool] is a checkout pool: [ConnPool.Get] lends a connection to one
//     holder, whose Close gives it back. [NewChannelPool] builds one with the
//     API of fatih/pool and buraksezer/connpool, so code written against
//     them builds unchanged once the import path is changed.
//   - [TCPPool] is a net.Conn that spreads writes over several connections
//     and reconnects by itself, with the API of samber/go-tcp-pool.
//
// The package depends on the standard library alone.
//
// # Checkout pool
//
// A ConnPool keeps at most [Config.MaxConns] connections open, counting those
// idle, checked out and being dialled. A Get takes the most recently
// returned idle connection, or dials one if there is room, or else waits in
// line. Waiting Gets are served first come, first served: a connection given
// back goes straight to the longest waiter, and no connection sits idle
// while a Get waits. A Get ends early with its context's error, or with
// [ErrClosed] when the pool closes.
//
// Dials run apart from the Get that asked for them: a Get whose context ends
// during a slow dial returns at once, and the dial's connection, when it
// comes, serves the next waiter or joins the idle list. A failed dial frees
// its slot and its error goes to the longest waiter, so while a server is
// down each waiting Get fails once rather than waiting for ever. A dial
// function that returns neither a connection nor an error is an error
// ([ErrNilConn]), never a nil connection.
//
// A connection comes wrapped in a [*PoolConn]. Its Close gives the socket
// back; after [PoolConn.MarkUnusable], Close closes the socket and frees its
// slot for a new dial. Close twice is harmless: every checkout lends the
// socket through a PoolConn never handed out before, so a second or late
// Close, Read or Write on it fails with an error wrapping [net.ErrClosed]
// and touches nobody else's connection, however often the socket has been
// lent out since.
//
// [ConnPool.Close] closes the idle connections at once, fails waiting Gets
// with ErrClosed, and closes checked-out connections as they come back and
// dialled ones as their dials finish. [ConnPool.NumberOfConns] counts
// every open connection at all times, so it reaches 0 once all are back.
//
// # Stale connections, ageing and sizing
//
// The commonest pool failure is a connection the server closed while it sat
// idle (a restart, or the server's own idle timeout): the first request on
// it fails. Before handing out a connection that has been idle at least
// [Config.ProbeAfter] (500ms by default, as HikariCP's bypass window), Get
// looks at its socket with a non-blocking peek, a system call but no round
// trip: if the peer has closed or reset it, or sent bytes nobody asked for,
// the connection is closed and Get takes another or dials. The peek goes
// through *tls.Conn and any wrapper with a NetConn method; on TLS, waiting
// bytes are no alarm (servers send session tickets unasked), only a close
// is. A read deadline left on the connection is no alarm either. Linux,
// macOS and the BSDs have the probe; elsewhere it is skipped.
// [Config.HealthCheck] adds a protocol-level check after the probe. The
// probe is on by default, for [NewChannelPool] too.
//
// [Config.IdleTimeout] and [Config.MaxLifetime] (with a jitter drawn once per
// connection) close connections in the background; [Config.MaxIdleConns]
// closes returns beyond it; [Config.MinIdleConns] keeps spare connections
// dialled, backing off with jitter while dials fail. Idle connections are
// reused most recently returned first ([LIFO]), so that under a light load
// a few stay warm and the rest time out; [FIFO] is the option. All of this
// runs in one maintenance goroutine that exists only while it has work.
//
// [ConnPool.Stats] returns gauges and counters (Gets by outcome, wait
// time, dials, closes by reason) that add up; [Config.OnDial] and
// [Config.OnClose] report each dial and each close as it happens.
// [ConnPool.Drain] is a graceful Close: it waits for checked-out
// connections up to a context.
//
// # Performance
//
// Get and Close of an idle connection allocate nothing but the PoolConn
// handles, which come 64 at a time: one allocation of 2 KiB per 64
// checkouts of a socket, reported by the benchmarks as 0 allocs/op and
// 36 B/op. The pool takes one mutex for a few dozen instructions on each.
// Reading the clock would cost a Get as much again, so while Gets come more
// often than every 5ms the maintenance goroutine reads it for them, every
// 5ms, and leaves once Gets have stopped for 100ms. A Get that finds every
// connection out lets the holders run a few times before it waits in line:
// with more goroutines than processors, a connection handed to a parked
// waiter would otherwise stay out until the scheduler reached that waiter,
// and every Get would end up waiting (a convoy). BENCHMARKS.md has the
// figures against jackc/puddle and a fatih/pool-style channel pool.
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
// samber/go-tcp-pool v1.
//
// # Migrating from fatih/pool or buraksezer/connpool
//
// Change the import path. The differences are fixes and additions:
//
//   - maxCap is a hard limit: at the limit Get waits for a returned
//     connection or its context, instead of dialling past it.
//   - Close twice, or Close after the pool closed, no longer hands one
//     socket to two holders or frees another holder's slot.
//   - A factory returning (nil, nil) is an error from Get.
//   - Errors from NewChannelPool wrap [ErrInvalidConfig] or the factory's
//     error, so errors.Is works.
//   - Idle connections the server has closed are not handed out.
//
// # Migrating from samber/go-tcp-pool
//
// Change the import path. Read works, Write never reports a negative count,
// Write and Read after Close return an error instead of panicking, and
// SetPoolSize(0) is an error.
package connpool
