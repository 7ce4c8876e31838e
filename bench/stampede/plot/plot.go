package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// palette gives each scheme the same colour in every plot.
var palette = map[string]color.Color{
	"none":          color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
	"lock-reject":   color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff},
	"xsync":         color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	"flight":        color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"flight-grace":  color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
	"flight-xfetch": color.RGBA{R: 0x17, G: 0xbe, B: 0xcf, A: 0xff},
}

// writePlots writes <name>-load.<ext> and <name>-latency.<ext> into dir and
// returns their paths.
func writePlots(dir, name, ext string, cfg config, results []Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	load := filepath.Join(dir, name+"-load."+ext)
	if err := saveLoad(load, ext, cfg, results); err != nil {
		return nil, err
	}
	lat := filepath.Join(dir, name+"-latency."+ext)
	if err := latencyPlot(cfg, results).Save(16*vg.Centimeter, 11*vg.Centimeter, lat); err != nil {
		return nil, err
	}
	return []string{load, lat}, nil
}

// saveLoad draws one panel per scheme, stacked, with the same axes, showing
// the peak number of backend queries in each time bucket.
func saveLoad(path, ext string, cfg config, results []Result) error {
	top := 1
	for _, r := range results {
		top = max(top, slices.Max(append([]int{0}, r.Load...)))
	}
	rows := make([][]*plot.Plot, len(results))
	for i, r := range results {
		p := loadPanel(cfg, r, float64(top))
		if i == len(results)-1 {
			p.X.Label.Text = "time (s)"
		}
		rows[i] = []*plot.Plot{p}
	}
	const panel = 3.2 * vg.Centimeter
	c, err := draw.NewFormattedCanvas(16*vg.Centimeter, panel*vg.Length(len(results))+vg.Centimeter, ext)
	if err != nil {
		return err
	}
	tiles := draw.Tiles{
		Rows: len(results), Cols: 1,
		PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8),
		PadY: vg.Points(2),
	}
	canvases := plot.Align(rows, tiles, draw.New(c))
	for i := range rows {
		rows[i][0].Draw(canvases[i][0])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func loadPanel(cfg config, r Result, top float64) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: %d backend calls, peak %d at once", r.Scheme, r.BackendCalls, r.PeakConcurrency)
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.Title.Padding = vg.Points(2)
	p.Y.Label.Text = "queries"
	p.Y.Min, p.Y.Max = 0, top*1.05
	p.X.Min, p.X.Max = 0, cfg.Duration.Seconds()
	p.X.Tick.Marker = plot.TickerFunc(timeTicks)
	pts := make(plotter.XYs, 0, 2*len(r.Load))
	w := cfg.Bucket.Seconds()
	for i, n := range r.Load {
		// A step per bucket, so a short spike stays as wide as its bucket.
		pts = append(pts, plotter.XY{X: float64(i) * w, Y: float64(n)}, plotter.XY{X: float64(i+1) * w, Y: float64(n)})
	}
	area, err := plotter.NewLine(pts)
	if err == nil {
		area.Color = palette[r.Scheme]
		area.FillColor = fade(palette[r.Scheme])
		p.Add(area)
	}
	p.Add(plotter.NewGrid())
	return p
}

// timeTicks labels every second, or every tenth of a second on short runs,
// with minor ticks in between.
func timeTicks(lo, hi float64) []plot.Tick {
	step := 1.0
	if hi-lo < 2 {
		step = 0.1
	}
	var ticks []plot.Tick
	for i := math.Ceil(4 * lo / step); i <= 4*hi/step; i++ {
		v := i * step / 4
		t := plot.Tick{Value: v}
		if int(i)%4 == 0 {
			t.Label = strconv.FormatFloat(v, 'f', -1, 64)
		}
		ticks = append(ticks, t)
	}
	return ticks
}

// fade returns c at a quarter of its opacity.
func fade(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0x50}
}

// latencyPlot draws, for each scheme, the fraction of requests slower than
// x (a complementary CDF) on log-log axes, where tails are easy to compare.
func latencyPlot(cfg config, results []Result) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Client latency: fraction of requests slower than x (dashed: the %v deadline)", cfg.Deadline)
	p.Title.TextStyle.Font.Size = vg.Points(10)
	p.X.Label.Text = "latency (ms)"
	p.Y.Label.Text = "fraction slower"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker, p.Y.Tick.Marker = plot.LogTicks{Prec: -1}, plot.LogTicks{Prec: -1}
	// Bottom left stays clear: few requests are both fast and slow.
	p.Legend.Top, p.Legend.Left = false, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), vg.Points(6)
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	minX, minY := math.Inf(1), 1.0
	for i, r := range results {
		pts := ccdf(r.Latencies)
		if len(pts) == 0 {
			continue
		}
		minX, minY = min(minX, pts[0].X), min(minY, pts[len(pts)-1].Y)
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.Color = palette[r.Scheme]
		l.Width = vg.Points(1.5)
		l.Dashes = dashes(i)
		p.Add(l)
		p.Legend.Add(r.Scheme, l)
	}
	if !math.IsInf(minX, 1) {
		p.X.Min = math.Pow(10, math.Floor(math.Log10(minX))) // a whole decade
	}
	p.Y.Min, p.Y.Max = minY, 1
	p.Add(plotter.NewGrid(), deadlineLine(ms(cfg.Deadline), minY))
	return p
}

// latencyFloor (ms) cuts off cache hits, whose latency is scheduling noise.
const latencyFloor = 0.01

// deadlineLine marks the client deadline on the latency plot.
func deadlineLine(deadline, minY float64) plot.Plotter {
	l, err := plotter.NewLine(plotter.XYs{{X: deadline, Y: minY}, {X: deadline, Y: 1}})
	if err != nil {
		panic(err) // two finite points cannot fail
	}
	l.Color = color.Gray{Y: 0x80}
	l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
	return l
}

// dashes lets overlapping lines stay distinguishable.
func dashes(i int) []vg.Length {
	if i%2 == 0 {
		return nil
	}
	return []vg.Length{vg.Points(4), vg.Points(2)}
}

// ccdf returns about 400 points (x in ms, fraction of latencies above x)
// spaced evenly on a log axis, from sorted latencies.
func ccdf(sorted []time.Duration) plotter.XYs {
	n := len(sorted)
	if n == 0 {
		return nil
	}
	lo := math.Log10(max(ms(sorted[0]), latencyFloor))
	hi := math.Log10(max(ms(sorted[n-1]), latencyFloor))
	const steps = 400
	var pts plotter.XYs
	for s := 0; s <= steps; s++ {
		x := math.Pow(10, lo+(hi-lo)*float64(s)/steps)
		at := time.Duration(x * float64(time.Millisecond))
		i, _ := slices.BinarySearch(sorted, at+1) // first latency > at
		if i == n {
			break
		}
		pts = append(pts, plotter.XY{X: x, Y: float64(n-i) / float64(n)})
	}
	return pts
}
