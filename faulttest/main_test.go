package faulttest

import (
	"testing"

	"github.com/rs/zerolog"
	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: a pool's
// redial or reader goroutine still running after Close, say.
func TestMain(m *testing.M) {
	// Some toxics log through zerolog's global logger; the proxies
	// themselves get a no-op one.
	zerolog.SetGlobalLevel(zerolog.Disabled)
	goleak.VerifyTestMain(m,
		// toxiproxy v2.5.0 strands two goroutines of a link for good when
		// the link's far side fails while data is on its way: the
		// reset_peer toxic stops reading after the first chunk, and a
		// link whose destination write fails stops draining. Both stay
		// blocked on a channel send inside toxiproxy; no goroutine of
		// connpool has these functions on top of its stack.
		goleak.IgnoreTopFunction("github.com/Shopify/toxiproxy/v2/toxics.(*NoopToxic).Pipe"),
		goleak.IgnoreTopFunction("github.com/Shopify/toxiproxy/v2/stream.(*ChanWriter).Write"),
	)
}
