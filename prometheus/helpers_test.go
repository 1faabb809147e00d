package connpoolprom_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/seed-a245f091/connpool/internal/pooltest"
)

// The helpers shared with the other exporter's tests.
var (
	newPool     = pooltest.NewPool
	dialTCPPool = pooltest.DialTCPPool
	refusing    = pooltest.Refusing
	get         = pooltest.Get
)

// scraper serves a registry over HTTP, as a Prometheus server would
// scrape it, and parses what it serves.
type scraper struct {
	t   testing.TB
	srv *httptest.Server
}

func newScraper(t testing.TB, g prometheus.Gatherer) *scraper {
	srv := httptest.NewServer(promhttp.HandlerFor(g, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	t.Cleanup(srv.Close)
	return &scraper{t: t, srv: srv}
}

// scrape fetches the metrics, in the text format, and parses them.
func (s *scraper) scrape() families {
	s.t.Helper()
	resp, err := s.srv.Client().Get(s.srv.URL + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		s.t.Fatalf("scrape: %s: %s", resp.Status, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		s.t.Fatalf("scrape: Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		s.t.Fatalf("parsing the scrape: %v", err)
	}
	return families{s.t, fams}
}

// families are the metric families of one scrape, by name.
type families struct {
	t    testing.TB
	fams map[string]*dto.MetricFamily
}

// metric returns the metric of family name whose labels are labels, given
// as name, value pairs, or fails the test.
func (f families) metric(name string, labels ...string) *dto.Metric {
	f.t.Helper()
	fam, ok := f.fams[name]
	if !ok {
		f.t.Fatalf("no metric %s in the scrape", name)
	}
	want := map[string]string{}
	for i := 0; i < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
next:
	for _, m := range fam.GetMetric() {
		if len(m.GetLabel()) != len(want) {
			continue
		}
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; !ok || v != l.GetValue() {
				continue next
			}
		}
		return m
	}
	f.t.Fatalf("no metric %s%v in the scrape", name, want)
	return nil
}

// value returns the value of a gauge or counter.
func (f families) value(name string, labels ...string) float64 {
	f.t.Helper()
	m := f.metric(name, labels...)
	switch f.fams[name].GetType() {
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	}
	f.t.Fatalf("%s is a %v, want a gauge or a counter", name, f.fams[name].GetType())
	return 0
}

// histogram returns a histogram.
func (f families) histogram(name string, labels ...string) *dto.Histogram {
	f.t.Helper()
	if typ := f.fams[name].GetType(); typ != dto.MetricType_HISTOGRAM {
		f.t.Fatalf("%s is a %v, want a histogram", name, typ)
	}
	return f.metric(name, labels...).GetHistogram()
}

// ofPool returns the names of the families that have a series for pool,
// sorted.
func (f families) ofPool(pool string) []string {
	var names []string
	for name, fam := range f.fams {
		for _, m := range fam.GetMetric() {
			if hasLabel(m, "pool", pool) {
				names = append(names, name)
				break
			}
		}
	}
	sort.Strings(names)
	return names
}

// labelValues returns the values of label among family name's series for
// pool, sorted.
func (f families) labelValues(name, pool, label string) []string {
	var vals []string
	for _, m := range f.fams[name].GetMetric() {
		if !hasLabel(m, "pool", pool) {
			continue
		}
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				vals = append(vals, l.GetValue())
			}
		}
	}
	sort.Strings(vals)
	return vals
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
