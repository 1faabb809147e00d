package connpoolprom

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// observer feeds one pool's events to its histograms. Its histograms were
// looked up by label once, when the pool was added, so that an event costs
// one Observe, which takes no lock and allocates nothing.
type observer struct {
	wait, use, dial prometheus.Observer
}

func (o *observer) ObserveWait(d time.Duration)          { o.wait.Observe(d.Seconds()) }
func (o *observer) ObserveUse(d time.Duration)           { o.use.Observe(d.Seconds()) }
func (o *observer) ObserveDial(d time.Duration, _ error) { o.dial.Observe(d.Seconds()) }
