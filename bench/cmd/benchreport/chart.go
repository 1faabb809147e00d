package main

import (
	"fmt"
	"image/color"
	"io"
	"slices"
	"strconv"
	"strings"

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

// WriteChart draws the medians of every scenario as a PNG, one panel per
// scenario and metric, and writes it to w.
func WriteChart(w io.Writer, d *Data) error {
	var plots []*plot.Plot
	for _, pn := range chartPanels(d) {
		p, err := pn.plot()
		if err != nil {
			return fmt.Errorf("%s: %w", pn.title, err)
		}
		plots = append(plots, p)
	}
	return drawGrid(w, plots, 4)
}

// drawGrid draws plots in a grid of cols columns as a PNG.
func drawGrid(w io.Writer, flat []*plot.Plot, cols int) error {
	if len(flat) == 0 {
		p := plot.New()
		p.Title.Text = "not in this run"
		flat = []*plot.Plot{p}
	}
	cols = min(cols, len(flat))
	rows := (len(flat) + cols - 1) / cols
	plots := make([][]*plot.Plot, rows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	for i, p := range flat {
		plots[i/cols][i%cols] = p
	}
	img := vgimg.NewWith(vgimg.UseWH(vg.Length(cols)*4.5*vg.Inch, vg.Length(rows)*3.6*vg.Inch), vgimg.UseDPI(96))
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

// WriteSeriesChart draws the time series of the contended Get+return rows
// with a pool of 8: a panel of ns/op per window for each GOMAXPROCS and
// goroutine count, a line per pool, and below them the same for waits/op.
func WriteSeriesChart(w io.Writer, d *Data) error {
	var nsPlots, waitPlots []*plot.Plot
	for _, p := range d.procs {
		for _, per := range d.Values(benchGetPut, "PerCPU") {
			var n int
			fmt.Sscan(per, &n)
			if n*p <= 8 {
				continue // not contended: as many goroutines as connections or fewer
			}
			title := fmt.Sprintf("GOMAXPROCS %d, %d goroutines, pool of 8", p, n*p)
			ns, waits := plot.New(), plot.New()
			ns.Title.Text, ns.Y.Label.Text, ns.X.Label.Text = title, "ns/op per 100ms window", "s"
			waits.Title.Text, waits.Y.Label.Text, waits.X.Label.Text = title, "waits/op per 100ms window", "s"
			drawn, drawnWaits, stalled := 0, 0, 0
			var all []float64 // every pool's ns/op windows, for the axis
			for i, pool := range checkoutPools {
				e := d.Get(benchGetPut, p, "Pool="+pool, "PerCPU="+per, "Conns=8")
				if e == nil || len(e.windows) == 0 {
					continue
				}
				var pts, wpts plotter.XYs
				for _, win := range e.windows {
					if win.stalled {
						stalled++ // no op in the window: left out, or it would flatten the rest
						continue
					}
					pts = append(pts, plotter.XY{X: win.atMS / 1e3, Y: win.nsPerOp})
					all = append(all, win.nsPerOp)
					if win.hasWaits && !win.stalled {
						wpts = append(wpts, plotter.XY{X: win.atMS / 1e3, Y: win.waitsPerOp})
					}
				}
				if err := addLine(ns, labels[pool], pts, i); err != nil {
					return err
				}
				drawn++
				if len(wpts) > 0 {
					if err := addLine(waits, labels[pool], wpts, i); err != nil {
						return err
					}
					drawnWaits++
				}
			}
			if drawn == 0 {
				continue
			}
			if stalled > 0 {
				ns.Title.Text += fmt.Sprintf("\n(%d windows without an op left out)", stalled)
			}
			// A few windows far above the rest (a pool that stalled for a
			// moment) would flatten every line: the axis stops at three
			// times the 95th percentile, and says so.
			slices.Sort(all)
			if top := 3 * all[len(all)*95/100]; all[len(all)-1] > top {
				ns.Y.Max = top
				ns.Title.Text += ", clipped"
			}
			for _, pl := range []*plot.Plot{ns, waits} {
				pl.Y.Min = 0
				pl.Y.Tick.Marker = shortTicks{}
				pl.Legend.Top = true
				pl.Legend.TextStyle.Font.Size = vg.Points(8)
				pl.Y.Max *= 1.35 // room for the legend
			}
			nsPlots = append(nsPlots, ns)
			if drawnWaits > 0 {
				waitPlots = append(waitPlots, waits)
			}
		}
	}
	cols := max(1, len(nsPlots)/2)
	if len(nsPlots) <= 3 {
		cols = len(nsPlots)
	}
	// Fill the ns/op rows before the waits/op ones start.
	for len(nsPlots)%max(cols, 1) != 0 {
		nsPlots = append(nsPlots, nil)
	}
	all := append(nsPlots, waitPlots...)
	for i, p := range all {
		if p == nil {
			all[i] = blankPlot()
		}
	}
	return drawGrid(w, all, max(cols, 1))
}

func blankPlot() *plot.Plot {
	p := plot.New()
	p.HideAxes()
	return p
}

func addLine(p *plot.Plot, name string, pts plotter.XYs, i int) error {
	l, err := plotter.NewLine(pts)
	if err != nil {
		return err
	}
	l.Color = plotutil.Color(i)
	l.Width = vg.Points(1.2)
	if i == 0 { // connpool: the line the report is about
		l.Color = color.Black
		l.Width = vg.Points(2)
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
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

// chartPanels lays out the overview: the metric each scenario is judged by.
func chartPanels(d *Data) []panel {
	median := func(e *entry, unit string, scale float64) float64 {
		s, ok := e.stat(unit)
		if !ok {
			return 0
		}
		return s.Center / scale
	}
	var out []panel
	for _, size := range d.Values(benchGetPut, "Conns") {
		pn := panel{title: fmt.Sprintf("1. Get+return, pool of %s (lower is better)", size), unit: "ns/op"}
		type cell struct {
			p   int
			per string
		}
		var cells []cell
		for _, p := range d.procs {
			for _, per := range d.Values(benchGetPut, "PerCPU") {
				if d.Get(benchGetPut, p, "Pool=connpool", "PerCPU="+per, "Conns="+size) != nil {
					var n int
					fmt.Sscan(per, &n)
					cells = append(cells, cell{p, per})
					pn.groups = append(pn.groups, fmt.Sprintf("P%d g%d", p, n*p))
				}
			}
		}
		for _, pool := range checkoutPools {
			sr := series{name: labels[pool]}
			for _, c := range cells {
				sr.values = append(sr.values, median(d.Get(benchGetPut, c.p, "Pool="+pool, "PerCPU="+c.per, "Conns="+size), "ns/op", 1))
			}
			pn.series = append(pn.series, sr)
		}
		out = append(out, pn)
	}
	perKey := func(title, unit, bench, key, metric string, scale float64, pools []string, kv ...string) panel {
		pn := panel{title: title, unit: unit}
		type cell struct {
			v string
			p int
		}
		var cells []cell
		values := []string{""}
		if key != "" {
			values = d.Values(bench, key)
		}
		for _, v := range values {
			for _, p := range d.procs {
				pick := kv
				if key != "" {
					pick = append(append([]string(nil), kv...), key+"="+v)
				}
				found := false
				for _, pool := range pools {
					found = found || d.Get(bench, p, append(pick, "Pool="+pool)...) != nil
				}
				if found {
					cells = append(cells, cell{v, p})
					pn.groups = append(pn.groups, strings.TrimSpace(fmt.Sprintf("%s P%d", v, p)))
				}
			}
		}
		for _, pool := range pools {
			sr := series{name: labels[pool]}
			for _, c := range cells {
				pick := kv
				if key != "" {
					pick = append(append([]string(nil), kv...), key+"="+c.v)
				}
				sr.values = append(sr.values, median(d.Get(bench, c.p, append(pick, "Pool="+pool)...), metric, scale))
			}
			pn.series = append(pn.series, sr)
		}
		return pn
	}
	out = append(out,
		perKey("4. Round trip: throughput (higher is better)", "thousand req/s", benchRound, "", "req/s", 1e3, checkoutPools),
		perKey("4. Round trip: p99 latency (lower is better)", "ms", benchRound, "", "p99-ns", 1e6, checkoutPools),
		perKey("5. Heap per lent connection (lower is better)", "bytes", benchHeap, "", "heap-B/conn", 1, checkoutPools),
		perKey("6. Stream writes (lower is better)", "ns/op", benchStream, "", "ns/op", 1, streamPools),
		perKey("7. Recovery: return to first success (lower is better)", "ms", benchRecovery, "Load", "recover-ns", 1e6, recoveryPools),
		perKey("8. Loss at paced rate (lower is better)", "messages lost per 100ms", benchLoss, "", "lost-msgs", 1, lossPools, "Rate=paced"))
	return out
}

// shortTicks are the default ticks with labels in the shortest form
// ("75000", not "75000.00").
type shortTicks struct{}

func (shortTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'g', 6, 64)
		}
	}
	return ticks
}
