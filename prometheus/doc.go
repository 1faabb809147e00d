// Package connpoolprom exports the metrics of connpool's pools to
// Prometheus. Its import path ends in prometheus, after the module; it is
// named connpoolprom so that it does not shadow the client library's
// package prometheus in the files that use both.
//
// One line registers every pool:
//
//	prometheus.MustRegister(connpoolprom.NewCollector(db, cache, logs))
//
// where db and cache are [*connpool.ConnPool]s and logs a
// [*connpool.TCPPool]. The [Collector] reads each pool's gauges and
// counters from its Stats method when it is scraped, so it keeps no copy of
// them, and adds an Observer to each pool (with its Observe method) that
// feeds three histograms.
//
// # Metrics
//
// Every metric has a pool label, the pool's name. For a ConnPool:
//
//	connpool_open_connections          gauge      idle, in use and being dialled
//	connpool_idle_connections          gauge      in the idle list
//	connpool_in_use_connections        gauge      checked out
//	connpool_dialing_connections       gauge      dials in flight
//	connpool_waiting_gets              gauge      Gets waiting in line
//	connpool_max_connections           gauge      Config.MaxConns
//	connpool_gets_total                counter    by outcome: idle, waited, canceled, failed
//	connpool_dials_total               counter    dial attempts finished
//	connpool_dial_errors_total         counter    of those, the ones that failed
//	connpool_closed_connections_total  counter    by reason: idle_timeout, max_lifetime, stale,
//	                                              health_check, max_idle, unusable, pool_closed, reset
//	connpool_leaks_total               counter    checkouts held past Config.LeakThreshold
//	connpool_wait_seconds              histogram  a Get's wait for its connection
//	connpool_use_seconds               histogram  from Get to the connection's return
//	connpool_dial_seconds              histogram  each dial, failed ones included
//
// The outcomes are those of [connpool.Stats]: idle is GetsFromIdle, waited
// GetsWaited (a Get that had to dial waited for the dial), canceled
// GetsCanceled and failed GetsFailed; they add up to every Get and TryGet
// that returned. The reasons are those of [connpool.CloseReason]. The wait
// histogram counts the Gets that returned a connection (idle and waited),
// the use histogram every return, and the dial histogram every dial, so
// that its count is connpool_dials_total (less the dials made before the
// pool was added).
//
// For a TCPPool, which has no checkouts:
//
//	connpool_open_connections          gauge      connections up (ConnsUp)
//	connpool_waiting_gets              gauge      Writes waiting for a connection up (Waiting)
//	connpool_max_connections           gauge      connections kept, up or not (Size)
//	connpool_writes_total              counter    Writes that returned no error
//	connpool_written_bytes_total       counter    bytes written
//	connpool_failed_writes_total       counter    Writes that returned an error
//	connpool_write_retries_total       counter    attempts beyond each Write's first
//	connpool_reconnects_total          counter    connections that replaced a failed one
//	connpool_dials_total               counter    dial attempts finished
//	connpool_dial_errors_total         counter    of those, the ones that failed
//	connpool_closed_connections_total  counter    reason="stale" only: closes the probe found
//	connpool_wait_seconds              histogram  each write attempt's wait for a connection
//	connpool_use_seconds               histogram  each write attempt on its connection
//	connpool_dial_seconds              histogram  each dial
//
// The histograms have the buckets of [DefBuckets], from 10µs to 10s,
// unless [Opts] says otherwise; Opts also turns on native histograms.
//
// # Names
//
// A pool's label is its name, read once from its Name method when it is
// added to the Collector: [connpool.Config.Name] or Addr,
// [connpool.TCPPoolConfig.Name] or the first of Addrs. Two pools of one name
// would make two series of one label set, which a registry refuses at
// every scrape, so [NewCollector] and [Collector.Add] refuse them when the
// pools are added: Add returns the error, and a Collector from
// NewCollector returns it from Register (MustRegister panics with it). A
// pool with no name yet (one with only a Dial function, before its first
// connection) is refused the same way. Give each pool its own Config.Name.
//
// A registry takes one Collector of this package: a second one registers
// the same metrics, and Register refuses it as a duplicate. Put every pool
// in one Collector, adding those made later with [Collector.Add] and
// removing those closed with [Collector.Remove], which drops their series.
package connpoolprom
