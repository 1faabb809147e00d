// Package connpoolotel reports the metrics of connpool's pools through
// OpenTelemetry, on the semantic conventions for database client
// connection pools (semconv 1.43.0, whose schema URL the meter carries;
// the conventions mark these metrics as still in development, so a later
// version may rename them).
// Its import path ends in otel, after the module; it is named connpoolotel
// so that it does not shadow OpenTelemetry's package otel in the files
// that use both.
//
// One call a pool, with the global meter provider or another:
//
//	reg, err := connpoolotel.Instrument(pool, connpoolotel.WithMeterProvider(mp))
//	defer reg.Unregister()
//
// Instrument registers observable instruments whose callback reads the
// pool's Stats at each collection, so it keeps no copy of the counters,
// and adds an Observer to the pool (with its Observe method) that feeds
// three histograms. The instruments come from the meter named
// "github.com/seed-a245f091/connpool/otel".
//
// # Instruments
//
// Every measurement has the attribute db.client.connection.pool.name, the
// pool's name. For a [*connpool.ConnPool], those of the conventions:
//
//	db.client.connection.count             UpDownCounter {connection}  by db.client.connection.state: idle (Idle), used (InUse)
//	db.client.connection.idle.max          UpDownCounter {connection}  Config.MaxIdleConns
//	db.client.connection.idle.min          UpDownCounter {connection}  Config.MinIdleConns
//	db.client.connection.max               UpDownCounter {connection}  Config.MaxConns
//	db.client.connection.pending_requests  UpDownCounter {request}     Gets waiting in line
//	db.client.connection.timeouts          Counter       {timeout}     Gets ended by their context's deadline (GetsTimedOut)
//	db.client.connection.create_time       Histogram     s             each dial, failed ones included
//	db.client.connection.wait_time         Histogram     s             a Get's wait for its connection
//	db.client.connection.use_time          Histogram     s             from Get to the connection's return
//
// and the pool's own, which the conventions lack:
//
//	connpool.gets                 Counter       {get}         by connpool.get.outcome: idle, waited, canceled, failed
//	connpool.dials                Counter       {dial}        dial attempts finished
//	connpool.dial_errors          Counter       {error}       of those, the ones that failed
//	connpool.closed_connections   Counter       {connection}  by connpool.close.reason: idle_timeout, max_lifetime,
//	                                                          stale, health_check, max_idle, unusable, pool_closed, reset
//	connpool.dialing_connections  UpDownCounter {connection}  dials in flight
//	connpool.leaks                Counter       {leak}        checkouts held past Config.LeakThreshold
//
// The outcomes are those of [connpool.Stats] (GetsFromIdle, GetsWaited,
// GetsCanceled, GetsFailed), the reasons those of [connpool.CloseReason]:
// the connections the pool found stale are connpool.closed_connections
// with reason stale. The semantic conventions count a timeout when a wait
// for a connection ends unserved: db.client.connection.timeouts counts the
// Gets whose context's deadline passed first (Stats.GetsTimedOut); those
// canceled otherwise are only in connpool.gets, with outcome canceled,
// beside the timed-out ones. The wait histogram counts the Gets that
// returned a connection, the use histogram every return, and the create
// histogram every dial, so that its count is connpool.dials (less the
// dials made before Instrument).
//
// For a [*connpool.TCPPool], which has no checkouts: db.client.connection.count
// with state used (ConnsUp: every connection up carries Writes),
// db.client.connection.max (Size), db.client.connection.pending_requests
// (Waiting: Writes waiting for a connection to come up), the
// three histograms (wait_time for each write attempt's wait for a
// connection, use_time for the write itself, create_time for each dial),
// connpool.dials,
// connpool.dial_errors, connpool.closed_connections with reason stale, and
//
//	connpool.writes         Counter  {write}      Writes that returned no error
//	connpool.written        Counter  By           bytes written
//	connpool.failed_writes  Counter  {write}      Writes that returned an error
//	connpool.write_retries  Counter  {retry}      attempts beyond each Write's first
//	connpool.reconnects     Counter  {reconnect}  connections that replaced a failed one
//
// The connpool names are those of the module's Prometheus exporter
// (github.com/seed-a245f091/connpool/prometheus) once an OpenTelemetry
// Prometheus exporter has added its suffixes: connpool.written becomes
// connpool_written_bytes_total, connpool.dials connpool_dials_total. The
// attributes keep their own keys (connpool.get.outcome, not outcome).
//
// The histograms advise the bucket boundaries 10µs, 50µs, 100µs, 500µs,
// 1ms, 5ms, 10ms, 50ms, 100ms, 500ms, 1s, 5s and 10s, since the SDK's
// default boundaries are made for milliseconds; a View overrides them.
//
// # Names
//
// A pool's name is read once, from its Name method, by Instrument:
// [connpool.Config.Name] or Addr, [connpool.TCPPoolConfig.Name] or the
// first of Addrs. The conventions want it unique in the program, and two
// pools of one name would report one series of each instrument between
// them, so Instrument returns an error for a pool named as one already
// instrumented with the same meter provider (and not unregistered since),
// and for a pool with no name yet (one with only a Dial function, before
// its first connection). Give each pool its own Config.Name.
//
// A pool instrumented under the name of one unregistered before, with the
// same meter provider, takes over its series. The SDK keeps one series
// per instrument and attribute set, with one start time, so the new
// pool's counters go on from the values that the pools of the name before
// left, read from their Stats by Unregister, and never go back: the new
// pool's Stats, what it counted before its Instrument included, are added
// to them. A pool instrumented again after its own Unregister adds only
// what it counted since: the package tells pools apart by a weak pointer,
// which does not keep one from being freed. A type that wraps a pool is
// told apart from no other: instrumented again, it adds its Stats whole,
// and what it counted before is counted twice. Between the two kinds of
// pool, the counters both have (connpool.dials, connpool.dial_errors,
// connpool.closed_connections) go on from every pool of the name, and the
// others from the pools of their kind; the gauges and up-down counters
// report the new pool alone. For this the package keeps, for the life of
// the program, the counters' values of each name a pool counted anything
// under, with a reference to the meter provider, and those of each pool
// unregistered under it until the pool is freed. Nothing is kept for a
// provider that cannot be compared, for which Instrument checks no name
// either: there a new pool of the name reports its own counters, from
// zero, on the same series.
//
// A collection that falls between the Unregister and the Instrument
// reports no data point for the name. A cumulative reader sees the series
// come back with their start time, on from their values. A delta reader
// takes them as new series, since the SDK reckons each delta of an
// observable counter from the value it reported at the collection before:
// their first delta is their whole value, the counts of the pools before
// included. Instrument the new pool right after unregistering the old one.
package connpoolotel
