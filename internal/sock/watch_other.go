//go:build !linux

package sock

import "errors"

// WatchSupported says whether a Watcher can be made here.
const WatchSupported = false

// Watcher is not available here: peers' closes are found by Probe.
type Watcher struct{}

// NewWatcher returns an error here.
func NewWatcher() (*Watcher, error) {
	return nil, errors.New("connpool: no socket watcher on this platform")
}

// Add returns an error here.
func (*Watcher) Add(*Socket, uint64) error { return errors.ErrUnsupported }

// Wait returns at once here.
func (*Watcher) Wait(func(uint64)) {}

// Close does nothing here.
func (*Watcher) Close() error { return nil }
