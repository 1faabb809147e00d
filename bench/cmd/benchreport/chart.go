package main

import (
	"fmt"
	"io"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// series is one pool's bars in a panel: a value per group, NaN-free
// (missing values are drawn as 0 and said so in the tables).
type series struct {
	name   string
	values []float64
}

// panel is one chart of the figure: grouped bars, a group per
// configuration, a bar per pool.
type panel struct {
	title, unit string
	groups      []string
	series      []series
}

// WriteChart draws every scenario of s as a PNG, one panel per scenario
// and metric, and writes it to w.
func WriteChart(w io.Writer, s *Summary) error {
	panels := chartPanels(s)
	const cols = 4
	rows := (len(panels) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	for i, pn := range panels {
		p, err := pn.plot()
		if err != nil {
			return fmt.Errorf("%s: %w", pn.title, err)
		}
		plots[i/cols][i%cols] = p
	}
	img := vgimg.NewWith(vgimg.UseWH(cols*4.5*vg.Inch, vg.Length(rows)*3.6*vg.Inch), vgimg.UseDPI(96))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, dc)
	for i := range plots {
		for j, p := range plots[i] {
			if p != nil {
				p.Draw(canvases[i][j])
			}
		}
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

func (pn panel) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.title
	p.Y.Label.Text = pn.unit
	p.Y.Min = 0
	p.Y.Tick.Marker = shortTicks{}
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	p.X.Tick.Label.Font.Size = vg.Points(8)
	if len(pn.groups) == 0 {
		p.Title.Text += " (not in this run)"
		return p, nil
	}
	width := vg.Points(min(14, 60/float64(len(pn.series))))
	for i, sr := range pn.series {
		bars, err := plotter.NewBarChart(plotter.Values(sr.values), width)
		if err != nil {
			return nil, err
		}
		bars.LineStyle.Width = 0
		bars.Color = plotutil.Color(i)
		bars.Offset = vg.Length(float64(i)-float64(len(pn.series)-1)/2) * width
		p.Add(bars)
		p.Legend.Add(sr.name, bars)
	}
	p.NominalX(pn.groups...)
	// Leave room above the tallest bar for the legend.
	p.Y.Max *= 1.35
	if p.Y.Max == 0 {
		p.Y.Max = 1 // every bar is zero: no loss, say
	}
	return p, nil
}

// chartPanels lays out the figure: the metric each scenario is judged by.
func chartPanels(s *Summary) []panel {
	procs := s.Procs()
	var out []panel

	// 1. Get+return: a group per GOMAXPROCS and goroutine count.
	pn := panel{title: "1. Get+return, no I/O (lower is better)", unit: "ns/op"}
	pers := s.Values(benchGetPut, "PerCPU")
	for _, pr := range procs {
		for _, per := range pers {
			if _, ok := s.Get(benchGetPut, pr, "ns/op", "Pool=connpool", "PerCPU="+per); ok {
				var n int
				fmt.Sscan(per, &n)
				pn.groups = append(pn.groups, fmt.Sprintf("P%d g%d", pr, n*pr))
			}
		}
	}
	for _, pool := range checkoutPools {
		sr := series{name: poolLabels[pool]}
		for _, pr := range procs {
			for _, per := range pers {
				if _, ok := s.Get(benchGetPut, pr, "ns/op", "Pool=connpool", "PerCPU="+per); ok {
					v, _ := s.Get(benchGetPut, pr, "ns/op", "Pool="+pool, "PerCPU="+per)
					sr.values = append(sr.values, v.Median)
				}
			}
		}
		pn.series = append(pn.series, sr)
	}
	out = append(out, pn)

	// 2 and 3. Round trip: throughput and p99, a group per GOMAXPROCS.
	perProcs := func(title, unit, bench, metric string, scale float64, pools []string, kv ...string) panel {
		pn := panel{title: title, unit: unit}
		var have []int
		for _, pr := range procs {
			if _, ok := s.Get(bench, pr, metric, append(kv, "Pool="+pools[0])...); ok {
				have = append(have, pr)
				pn.groups = append(pn.groups, fmt.Sprintf("GOMAXPROCS %d", pr))
			}
		}
		for _, pool := range pools {
			sr := series{name: poolLabels[pool]}
			for _, pr := range have {
				v, _ := s.Get(bench, pr, metric, append(kv, "Pool="+pool)...)
				sr.values = append(sr.values, v.Median/scale)
			}
			pn.series = append(pn.series, sr)
		}
		return pn
	}
	out = append(out,
		perProcs("2. Round trip: throughput (higher is better)", "thousand req/s", benchRound, "req/s", 1e3, checkoutPools),
		perProcs("2. Round trip: p99 latency (lower is better)", "ms", benchRound, "p99-ns", 1e6, checkoutPools),
		perProcs("3. Stream writes (lower is better)", "ns/op", benchStream, "ns/op", 1, streamPools))

	// 4. Recovery: a group per load and GOMAXPROCS.
	perKey := func(title, unit, bench, key, metric string, scale float64, pools []string) panel {
		pn := panel{title: title, unit: unit}
		type cell struct {
			v  string
			pr int
		}
		var have []cell
		for _, v := range s.Values(bench, key) {
			for _, pr := range procs {
				if _, ok := s.Get(bench, pr, metric, key+"="+v, "Pool="+pools[0]); ok {
					have = append(have, cell{v, pr})
					pn.groups = append(pn.groups, fmt.Sprintf("%s P%d", v, pr))
				}
			}
		}
		for _, pool := range pools {
			sr := series{name: poolLabels[pool]}
			for _, c := range have {
				st, _ := s.Get(bench, c.pr, metric, key+"="+c.v, "Pool="+pool)
				sr.values = append(sr.values, st.Median/scale)
			}
			pn.series = append(pn.series, sr)
		}
		return pn
	}
	out = append(out,
		perKey("4. Recovery: return to first success (lower is better)", "ms", benchRecovery, "Load", "recover-ns", 1e6, recoveryPools),
		perKey("4. Recovery: failed requests after return (lower is better)", "requests per restart", benchRecovery, "Load", "failed-reqs", 1, recoveryPools))

	// 5. Loss, one panel per rate: the rates differ by orders of magnitude.
	for _, rate := range s.Values(benchLoss, "Rate") {
		out = append(out, perProcs(fmt.Sprintf("5. Loss at %s rate (lower is better)", rate), "messages lost per 100ms",
			benchLoss, "lost-msgs", 1, lossPools, "Rate="+rate))
	}
	return out
}

// shortTicks are the default ticks with labels in the shortest form
// ("75000", not "75000.00").
type shortTicks struct{}

func (shortTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', -1, 64)
		}
	}
	return ticks
}
