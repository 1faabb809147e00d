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
	kindTimeout errKind = iota // a deadline passed: the server is slow or gone quiet
	kindReset                  // the peer reset the connection (or it broke: EPIPE)
	kindEOF                    // the peer closed the connection before replying
	kindRefused                // nothing listens at the address
	kindOther
	numKinds
)

var kindNames = [numKinds]string{"timeout", "reset", "EOF", "refused", "other"}

func (k errKind) String() string { return kindNames[k] }

// errBadReply is the error of an echo whose reply is not the request.
var errBadReply = errors.New("reply differs from the request (is the server a line echo?)")

// classify returns the kind of err, the error of a failed request. Resets
// and refusals are told apart by the platform's error codes (sysKind).
func classify(err error) errKind {
	var ne net.Error
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &ne) && ne.Timeout():
		return kindTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return kindEOF
	}
	return sysKind(err)
}
