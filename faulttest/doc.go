// Package faulttest holds the failure tests of connpool: real TCP servers
// on 127.0.0.1, with github.com/Shopify/toxiproxy/v2 running in-process
// between them and the pools to reset, cut, slice and stall connections.
//
// It is a module of its own so that the root module depends on nothing
// but the standard library. It has no API: run go test in this directory.
package faulttest
