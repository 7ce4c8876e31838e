package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// look is how one scheme is drawn in every plot.
type look struct {
	color  color.Color
	dashes []vg.Length
}

func rgb(v uint32) color.Color {
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

var (
	solid  []vg.Length
	dashed = []vg.Length{vg.Points(5), vg.Points(2.5)}
	dotted = []vg.Length{vg.Points(1.5), vg.Points(1.5)}
	dashDo = []vg.Length{vg.Points(5), vg.Points(2), vg.Points(1.5), vg.Points(2)}
)

// looks gives the known schemes the colours of the Okabe-Ito palette, which
// stay apart for colour-blind readers too, plus brown and grey: each family
// of schemes has its own hue (x/sync reddish purple, flight blue, retention
// green, fleet brown), and a variant of a family shares its hue with a
// dashed or dotted line.
var looks = map[string]look{
	"none":                {rgb(0xd55e00), solid},  // vermillion
	"lock-reject":         {rgb(0xe69f00), dashDo}, // orange
	"xsync":               {rgb(0xcc79a7), solid},  // reddish purple
	"xsync-nocancel":      {rgb(0xcc79a7), dashed},
	"flight":              {rgb(0x0072b2), solid}, // blue
	"flight-grace":        {rgb(0x009e73), solid}, // bluish green
	"flight-xfetch":       {rgb(0x56b4e9), solid}, // sky blue
	"flight-grace-xfetch": {rgb(0x009e73), dashed},
	"flight-hedge":        {rgb(0x0072b2), dashed},
	"stale-refresh":       {rgb(0x000000), dotted},
	"fleet":               {rgb(0x8c564b), solid}, // brown: the fleet family
	"fleet-grace":         {rgb(0x8c564b), dashed},
	"fleet-xfetch":        {rgb(0x8c564b), dotted},
	"redis-lock-poll":     {rgb(0x7f7f7f), dashDo}, // grey
}

// spare colours, in order, for schemes the table above does not know yet.
var spare = []look{
	{rgb(0xbcbd22), solid}, {rgb(0x17becf), dashDo}, {rgb(0xbcbd22), dashed}, {rgb(0x17becf), solid},
	{rgb(0xf0e442), solid}, {rgb(0x7f7f7f), dotted}, {rgb(0xf0e442), dashed}, {rgb(0x17becf), dotted},
}

// lookup returns the look of each scheme of rep, in order.
func lookup(rep report) []look {
	out := make([]look, len(rep.Schemes))
	n := 0
	for i, s := range rep.Schemes {
		l, ok := looks[s.Scheme]
		if !ok {
			l = spare[n%len(spare)]
			n++
		}
		out[i] = l
	}
	return out
}

// writePlots writes <name>-load.<ext> and <name>-latency.<ext> into dir and
// returns the paths it wrote.
func writePlots(dir, name, ext string, rep report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	styles := lookup(rep)
	load := filepath.Join(dir, name+"-load."+ext)
	if err := saveLoad(load, ext, rep, styles); err != nil {
		return nil, err
	}
	lat := filepath.Join(dir, name+"-latency."+ext)
	if err := latencyPlot(rep, styles).Save(16*vg.Centimeter, 12*vg.Centimeter, lat); err != nil {
		return []string{load}, err
	}
	return []string{load, lat}, nil
}

// saveLoad draws one panel per scheme, stacked, with the same axes, showing
// the peak number of backend queries in each time bucket of the first
// round. The y axis is logarithmic in 1+queries, so that a scheme that
// keeps the backend at one query and one that fills it with forty are both
// readable on one scale.
func saveLoad(path, ext string, rep report, styles []look) error {
	top, buckets := 1, 0
	for _, s := range rep.Schemes {
		top = max(top, slices.Max(append([]int{0}, s.Load...)))
		buckets = max(buckets, len(s.Load))
	}
	end := max(rep.Config.DurationMS, float64(buckets)*rep.Config.BucketMS) / 1000
	rows := make([][]*plot.Plot, len(rep.Schemes))
	for i := range rep.Schemes {
		p := loadPanel(rep, i, styles[i], float64(top), end)
		if i == len(rep.Schemes)-1 {
			p.X.Label.Text = "time (s), first round"
		}
		rows[i] = []*plot.Plot{p}
	}
	const panel = 2.8 * vg.Centimeter
	c, err := draw.NewFormattedCanvas(16*vg.Centimeter, panel*vg.Length(len(rows))+vg.Centimeter, ext)
	if err != nil {
		return err
	}
	tiles := draw.Tiles{
		Rows: len(rows), Cols: 1,
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

func loadPanel(rep report, i int, st look, top, end float64) *plot.Plot {
	s := rep.Schemes[i]
	p := plot.New()
	p.Title.Text = s.Scheme
	if len(s.Rounds) > 0 {
		r := s.Rounds[0]
		p.Title.Text = fmt.Sprintf("%s: %d backend calls, at most %d at once", s.Scheme, r.BackendCalls, r.PeakConcurrency)
	}
	p.Title.TextStyle.Font.Size = vg.Points(9)
	p.Title.Padding = vg.Points(2)
	p.Y.Label.Text = "queries"
	p.Y.Scale = log1pScale{}
	p.Y.Tick.Marker = plot.TickerFunc(countTicks)
	p.Y.Min, p.Y.Max = 0, top
	p.X.Min, p.X.Max = 0, end
	p.X.Tick.Marker = plot.TickerFunc(timeTicks)
	pts := make(plotter.XYs, 0, 2*len(s.Load))
	w := rep.Config.BucketMS / 1000
	for i, n := range s.Load {
		// A step per bucket, so a short spike stays as wide as its bucket.
		pts = append(pts, plotter.XY{X: float64(i) * w, Y: float64(n)}, plotter.XY{X: float64(i+1) * w, Y: float64(n)})
	}
	area, err := plotter.NewLine(pts)
	if err == nil {
		area.Color = st.color
		area.FillColor = fade(st.color)
		p.Add(area)
	}
	p.Add(plotter.NewGrid())
	return p
}

// log1pScale maps y to log(1+y): zero stays at the bottom, and 1, 2, 5 and
// 40 queries are as far apart as their ratios.
type log1pScale struct{}

func (log1pScale) Normalize(lo, hi, y float64) float64 {
	return (math.Log1p(y) - math.Log1p(lo)) / (math.Log1p(hi) - math.Log1p(lo))
}

// countTicks labels 0, 1, 3, 10, 30, ... up to hi, about evenly spaced on
// the log(1+y) axis, with unlabelled ticks at 2, 5, 20, 50, ...
func countTicks(lo, hi float64) []plot.Tick {
	ticks := []plot.Tick{{Value: 0, Label: "0"}}
	for m := 1.0; m <= hi; m *= 10 {
		for _, f := range []float64{1, 2, 3, 5} {
			v := f * m
			if v < lo || v > hi {
				continue
			}
			t := plot.Tick{Value: v}
			if f == 1 || f == 3 {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
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

// fade returns c at about a third of its opacity.
func fade(c color.Color) color.Color {
	r, g, b, _ := c.RGBA()
	return color.NRGBA{R: uint8(r >> 8), G: uint8(g >> 8), B: uint8(b >> 8), A: 0x50}
}

// latencyPlot draws, for each scheme, the fraction of requests slower than
// x (a complementary CDF, every round pooled) on log-log axes, where tails
// are easy to compare.
func latencyPlot(rep report, styles []look) *plot.Plot {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Client latency: fraction of requests slower than x (dashed grey: the %gms deadline)", rep.Config.DeadlineMS)
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
	for i, s := range rep.Schemes {
		pts := make(plotter.XYs, 0, len(s.CCDF))
		for _, xy := range s.CCDF {
			if xy[0] > 0 && xy[1] > 0 {
				pts = append(pts, plotter.XY{X: xy[0], Y: xy[1]})
			}
		}
		if len(pts) == 0 {
			continue
		}
		minX, minY = min(minX, pts[0].X), min(minY, pts[len(pts)-1].Y)
		l, err := plotter.NewLine(pts)
		if err != nil {
			continue
		}
		l.Color = styles[i].color
		l.Width = vg.Points(1.6)
		l.Dashes = styles[i].dashes
		p.Add(l)
		p.Legend.Add(s.Scheme, l)
	}
	if !math.IsInf(minX, 1) {
		p.X.Min = math.Pow(10, math.Floor(math.Log10(minX))) // a whole decade
	}
	p.Y.Min, p.Y.Max = minY, 1
	p.Add(plotter.NewGrid(), deadlineLine(rep.Config.DeadlineMS, minY))
	return p
}

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
