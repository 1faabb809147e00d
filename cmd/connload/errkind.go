package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
)

// errKind is a class of failed request, as the summary counts them.
type errKind int

const (
	kindTimeout    errKind = iota // no reply within -timeout: the server is slow or gone quiet
	kindGetTimeout                // no connection from the pool within -timeout
	kindReset                     // the peer reset the connection (or it broke: EPIPE)
	kindEOF                       // the peer closed the connection before replying
	kindRefused                   // nothing listens at the address
	kindOther
	numKinds
)

// kindNames are the kinds as the summary and the time series name them.
var kindNames = [numKinds]string{"timeout", "get timeout", "reset", "EOF", "refused", "other"}

func (k errKind) String() string { return kindNames[k] }

// errBadReply is the error of an echo whose reply is not the request.
var errBadReply = errors.New("reply differs from the request (is the server a line echo?)")

// errGetTimeout is the error of a request that got no connection from the
// pool within -timeout.
var errGetTimeout = errors.New("no connection from the pool within -timeout")

// classify returns the kind of err, the error of a failed request. Resets
// and refusals are told apart by the platform's error codes (sysKind).
func classify(err error) errKind {
	var ne net.Error
	switch {
	case errors.Is(err, errGetTimeout):
		return kindGetTimeout
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return kindTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return kindEOF
	}
	return sysKind(err)
}
