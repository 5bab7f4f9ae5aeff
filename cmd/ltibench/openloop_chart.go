package main

import (
	"fmt"
	"html"
	"math"
	"os"
	"strings"
)

// chartColors are the series' colors, in the order the series ran.
var chartColors = []string{"#3b7dd8", "#d8803b", "#3ba55c", "#b03bd8", "#d83b5a", "#7a7a7a", "#1fa3a3", "#8c6d1f"}

// writeLatencyChart draws the open-loop p99 latency (log scale, ms)
// against the offered rate (log scale, launches/s), one line per
// configuration, with a dashed line at the 10 ms target, as one SVG.
func writeLatencyChart(path string, r *results) error {
	return os.WriteFile(path, []byte(latencyChartSVG(r)), 0o644)
}

// latencyChartSVG is the chart writeLatencyChart writes.
func latencyChartSVG(r *results) string {
	const (
		width, height = 900, 520
		px0, px1      = 80, 640 // the plot area
		py0, py1      = 60, 440
		legendX       = 665
	)
	var series []openSeries
	if r.OpenLoop != nil {
		for _, s := range r.OpenLoop.Series {
			for _, st := range s.Steps {
				if st.P99Ms > 0 {
					series = append(series, s)
					break
				}
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	how := ""
	if ol := r.OpenLoop; ol != nil {
		how = ol.Arrivals + " arrivals, "
		if ol.StepLaunches > 0 {
			how += fmt.Sprintf("%d launches per rate", ol.StepLaunches)
		} else {
			how += ol.Step + " per rate"
		}
	}
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="14" font-weight="bold">ltibench open loop: p99 latency against the offered rate (%s)</text>`+"\n", html.EscapeString(how))
	where := fmt.Sprintf("%d CPUs shared by the load generator, the tool and its database", r.Machine.CPUs)
	if t := r.Topology; t != nil {
		where = fmt.Sprintf("-pin: the load generator on CPU %d, the tool with its store on CPU %d", t.GeneratorCPU, t.ToolCPU)
	}
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555">%s; %s</text>`+"\n",
		html.EscapeString(where), html.EscapeString(r.Machine.Started))
	if len(series) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d">no open-loop step measured</text>`+"\n", px0, (py0+py1)/2)
		b.WriteString("</svg>\n")
		return b.String()
	}

	// Ranges: both axes logarithmic, from the 1-2-5 steps around the data;
	// the latency axis always shows the 10 ms line.
	minR, maxR := math.Inf(1), 0.0
	minL, maxL := openLoopTargetMs, openLoopTargetMs
	for _, s := range series {
		for _, st := range s.Steps {
			if st.P99Ms <= 0 {
				continue
			}
			minR, maxR = min(minR, st.OfferedPerS), max(maxR, st.OfferedPerS)
			minL, maxL = min(minL, st.P99Ms), max(maxL, st.P99Ms)
		}
	}
	xTicks := niceTicks(minR, maxR)
	xLo, xHi := math.Log10(xTicks[0]), math.Log10(xTicks[len(xTicks)-1])
	yLo, yHi := math.Floor(math.Log10(minL)), math.Ceil(math.Log10(maxL))
	if yHi <= math.Log10(maxL) {
		yHi++
	}
	if yLo >= math.Log10(minL) {
		yLo--
	}
	x := func(rate float64) float64 { return px0 + (math.Log10(rate)-xLo)/(xHi-xLo)*(px1-px0) }
	y := func(msv float64) float64 { return py1 - (math.Log10(msv)-yLo)/(yHi-yLo)*(py1-py0) }

	// Grid and axes.
	for _, t := range xTicks {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e4e4e4"/>`+"\n", x(t), py0, x(t), py1)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x(t), py1+16, fmtRate(t))
	}
	for e := yLo; e <= yHi; e++ {
		v := math.Pow(10, e)
		fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e4e4e4"/>`+"\n", px0, y(v), px1, y(v))
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", px0-6, y(v)+4, fmtMs(v))
	}
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#888"/>`+"\n", px0, py0, px1-px0, py1-py0)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">offered launches/s (log scale)</text>`+"\n", (px0+px1)/2, py1+36)
	fmt.Fprintf(&b, `<text x="18" y="%d" text-anchor="middle" transform="rotate(-90 18 %d)">p99 latency (log scale)</text>`+"\n", (py0+py1)/2, (py0+py1)/2)
	fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c0392b" stroke-width="1.5" stroke-dasharray="6 4"/>`+"\n", px0, y(openLoopTargetMs), px1, y(openLoopTargetMs))
	fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" fill="#c0392b">10 ms</text>`+"\n", px1-4, y(openLoopTargetMs)-5)

	// One line per configuration; a hollow marker where a step had errors
	// or left launches unsent.
	for i, s := range series {
		color := chartColors[i%len(chartColors)]
		var pts []string
		for _, st := range s.Steps {
			if st.P99Ms > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(st.OfferedPerS), y(st.P99Ms)))
			}
		}
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		for _, st := range s.Steps {
			if st.P99Ms <= 0 {
				continue
			}
			fill := color
			if st.Errors > 0 || st.NotSent > 0 {
				fill = "white"
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s" stroke="%s"><title>%s</title></circle>`+"\n",
				x(st.OfferedPerS), y(st.P99Ms), fill, color,
				html.EscapeString(fmt.Sprintf("%s/%s: %.1f/s offered, %.1f/s achieved, p99 %.2f ms, %d errors", s.Target, s.Store, st.OfferedPerS, st.AchievedPerS, st.P99Ms, st.Errors)))
		}
		ly := py0 + 10 + i*40
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>`+"\n", legendX, ly, legendX+22, ly, color)
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n", legendX+28, ly+4, html.EscapeString(s.Target+"/"+s.Store))
		note := fmt.Sprintf("saturation %.0f/s", s.SaturationPerS)
		if s.MaxRateP99Le10Ms > 0 {
			note += fmt.Sprintf("; ≤ 10 ms to %.0f/s", s.MaxRateP99Le10Ms)
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555" font-size="11">%s</text>`+"\n", legendX+28, ly+18, html.EscapeString(note))
	}
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">latency: from each launch's scheduled start to its launch post's answer, the platform's signing excluded; hollow: errors or unsent</text>`+"\n", height-28)
	fmt.Fprintf(&b, `<text x="10" y="%d" fill="#555">saturation: the closed-loop launches/s in the same run; load average %s at the start, %s at the end</text>`+"\n",
		height-12, html.EscapeString(r.Machine.LoadStart), html.EscapeString(loadAvg()))
	b.WriteString("</svg>\n")
	return b.String()
}

// niceTicks returns the 1-2-5 steps from the one at or below lo to the
// one at or above hi (at least two).
func niceTicks(lo, hi float64) []float64 {
	if !(lo > 0) || hi < lo {
		return []float64{1, 10}
	}
	var ticks []float64
	for e := math.Floor(math.Log10(lo)) - 1; e <= math.Ceil(math.Log10(hi))+1; e++ {
		for _, m := range []float64{1, 2, 5} {
			ticks = append(ticks, m*math.Pow(10, e))
		}
	}
	first, last := 0, len(ticks)-1
	for i, t := range ticks {
		if t <= lo*(1+1e-9) {
			first = i
		}
	}
	for i := len(ticks) - 1; i >= 0; i-- {
		if ticks[i] >= hi*(1-1e-9) {
			last = i
		}
	}
	if last <= first {
		last = first + 1
	}
	return ticks[first : last+1]
}

func fmtRate(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", v)
}

func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%g s", v/1000)
	case v >= 1:
		return fmt.Sprintf("%.0f ms", v)
	}
	return fmt.Sprintf("%g ms", v)
}
