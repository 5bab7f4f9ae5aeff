package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestScheduleCountsStall checks that a launch's latency runs from its
// scheduled start: the server stalls every request for its first 300 ms,
// while launches arrive every 10 ms. Each launch scheduled during the
// stall waits for its end, and must be recorded so; a closed-loop client
// would have sent (and timed) only one request during the stall.
func TestScheduleCountsStall(t *testing.T) {
	const stall = 300 * time.Millisecond
	var (
		once    sync.Once
		release time.Time
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { release = time.Now().Add(stall) })
		time.Sleep(time.Until(release))
		io.WriteString(w, "ok")
	}))
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = 100

	const n, every = 60, 10 * time.Millisecond
	offsets := make([]time.Duration, n)
	for k := range offsets {
		offsets[k] = time.Duration(k) * every
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st := schedule(ctx, offsets, func(ctx context.Context, k int) (launchTiming, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
		if err != nil {
			return launchTiming{}, err
		}
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return launchTiming{}, err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return launchTiming{post: time.Since(t0)}, err
	})
	if st.errors != 0 || st.notSent != 0 || len(st.latencies) != n {
		t.Fatalf("errors %d (%v), not sent %d, %d latencies of %d", st.errors, st.errorMsgs, st.notSent, len(st.latencies), n)
	}
	// Launches scheduled in the stall's first 200 ms (about 20) waited at
	// least 100 ms; allow for a late first request on a loaded machine.
	slow := 0
	for _, l := range st.latencies {
		if l >= 100*time.Millisecond {
			slow++
		}
	}
	if slow < 12 {
		t.Errorf("%d launches took ≥ 100 ms, want about 20 (the stall's queue); latencies %v", slow, st.latencies)
	}
	if st.maxInFlight < 10 {
		t.Errorf("at most %d launches in flight during a 300 ms stall at 100/s, want the generator to keep sending", st.maxInFlight)
	}
	if got := st.latencies[n-1]; got < stall/2 {
		t.Errorf("max latency %v, want at least %v", got, stall/2)
	}
}

// TestScheduleCountsLateness checks that the time a launch started after
// its scheduled start is part of its latency.
func TestScheduleCountsLateness(t *testing.T) {
	offsets := make([]time.Duration, 20)
	for k := range offsets {
		offsets[k] = time.Duration(k) * time.Millisecond
	}
	st := schedule(context.Background(), offsets, func(_ context.Context, k int) (launchTiming, error) {
		// Launch 7 is slow in its login (longer than any lateness of a
		// loaded machine), the rest take 5 ms.
		if k == 7 {
			return launchTiming{login: 200 * time.Millisecond, post: 2 * time.Millisecond}, nil
		}
		return launchTiming{login: 3 * time.Millisecond, post: 2 * time.Millisecond}, nil
	})
	if len(st.latencies) != 20 || len(st.late) != 20 {
		t.Fatalf("%d latencies, %d lateness figures", len(st.latencies), len(st.late))
	}
	if got := st.latencies[19]; got < 202*time.Millisecond {
		t.Errorf("the slowest latency is %v, want at least launch 7's 202 ms", got)
	}
	fast := st.latencies[:19]
	for k := range fast {
		// Without launch 7, latency is 5 ms plus the lateness; both are
		// sorted, and launch 7's lateness may be anywhere among them.
		if d := fast[k] - 5*time.Millisecond; !slices.Contains(st.late, d) {
			t.Errorf("latency %v is no lateness + 5 ms", fast[k])
		}
	}
	// The slowest kept: launch 7 first, with its schedule and phases.
	if len(st.slowest) != slowestKept {
		t.Fatalf("%d slowest kept, want %d", len(st.slowest), slowestKept)
	}
	s7 := st.slowest[0]
	if s7.LoginMs != 200 || s7.PostMs != 2 || s7.TotalMs < 202 || s7.Due.Location() != time.UTC {
		t.Errorf("the slowest launch %+v, want launch 7 (login 200 ms, post 2 ms)", s7)
	}
	for i := 1; i < len(st.slowest); i++ {
		if st.slowest[i].TotalMs > st.slowest[i-1].TotalMs {
			t.Errorf("slowest not in order: %+v", st.slowest)
		}
	}
	var out bytes.Buffer
	writeStalls(&out, []openStep{{OfferedPerS: 20, Slowest: []slowLaunch{{Due: s7.Due, TotalMs: 120, LoginMs: 118, PostMs: 2}, {TotalMs: 9}}}})
	if want := "≥ 100 ms at 20/s, due (UTC): " + s7.Due.Format("15:04:05.000") + " 120 ms (late 0.0, login 118.0, post 2.0)\n"; !strings.HasSuffix(out.String(), want) {
		t.Errorf("stall line %q, want it to end in %q", out.String(), want)
	}
	failing := schedule(context.Background(), offsets[:3], func(context.Context, int) (launchTiming, error) {
		return launchTiming{}, errors.New("refused")
	})
	if failing.errors != 3 || len(failing.latencies) != 0 || len(failing.errorMsgs) != 3 {
		t.Errorf("failed launches: %+v", failing)
	}
	s := failing.step(10, 0)
	if s.within(openLoopLooseMs) || s.Launches != 3 {
		t.Errorf("a step of errors counts as within: %+v", s)
	}
}

func TestArrivalOffsets(t *testing.T) {
	u := arrivalOffsets("uniform", 200, 5, nil)
	for k, want := range []time.Duration{0, 5 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond} {
		if u[k] != want {
			t.Errorf("uniform[%d] = %v, want %v", k, u[k], want)
		}
	}
	p := arrivalOffsets("poisson", 100, 20000, rand.New(rand.NewPCG(1, 2)))
	mean := p[len(p)-1].Seconds() / float64(len(p)-1)
	if math.Abs(mean-0.01) > 0.0005 {
		t.Errorf("poisson mean gap %.5f s, want 0.01", mean)
	}
	for k := 1; k < len(p); k++ {
		if p[k] < p[k-1] {
			t.Fatalf("poisson offsets go back at %d", k)
		}
	}
}

func TestStepRatesAndFlags(t *testing.T) {
	var o openLoopOptions
	o.arrivals, o.step, o.p99Cap = "uniform", time.Second, time.Second
	if err := o.parse("auto"); err != nil {
		t.Fatal(err)
	}
	got := stepRates(o.rates, 1000, "in-process")
	want := []float64{100, 250, 500, 700, 850, 1000, 1100}
	if len(got) != len(want) {
		t.Fatalf("auto rates %v, want %v", got, want)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-9 {
			t.Errorf("auto rates %v, want %v", got, want)
		}
	}
	o.rates = nil
	if err := o.parse("300, 20%,100"); err != nil {
		t.Fatal(err)
	}
	// Half the saturation rate is added for ltikit, not for the peer.
	if got := stepRates(o.rates, 1000, "own-process"); len(got) != 4 || got[0] != 100 || got[1] != 200 || got[2] != 300 || got[3] != 500 {
		t.Errorf("rates %v", got)
	}
	if got := stepRates(o.rates, 1000, "ltijs"); len(got) != 3 {
		t.Errorf("ltijs rates %v", got)
	}
	for _, bad := range []string{"x", "-5", "0", "10%%"} {
		o.rates = nil
		if err := o.parse(bad); err == nil {
			t.Errorf("-rates %q accepted", bad)
		}
	}
	o.rates, o.arrivals = nil, "bursty"
	if err := o.parse("10"); err == nil {
		t.Error("-arrivals bursty accepted")
	}
}

// TestOpenLoopFlags checks the open-loop flags reach the options.
func TestOpenLoopFlags(t *testing.T) {
	env := func(string) string { return "" }
	o, err := parseFlags([]string{"-rates", "auto", "-step", "2s", "-arrivals", "poisson", "-p99-cap", "500ms", "-latency-chart", "x.svg"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.open.rates) != len(autoRates) || o.open.step != 2*time.Second || o.open.arrivals != "poisson" || o.open.p99Cap != 500*time.Millisecond || o.open.chart != "x.svg" {
		t.Errorf("open-loop options %+v", o.open)
	}
	if o, err := parseFlags(nil, env, io.Discard); err != nil || len(o.open.rates) != 0 {
		t.Errorf("default: %v, rates %v (want no open loop)", err, o.open.rates)
	}
	for _, bad := range [][]string{{"-rates", "fast"}, {"-rates", "10", "-arrivals", "x"}, {"-rates", "10", "-step", "0"}, {"-p99-cap", "0"}} {
		if _, err := parseFlags(bad, env, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded", bad)
		}
	}
}

func TestSummarise(t *testing.T) {
	step := func(rate, p99 float64, errs int) openStep {
		return openStep{OfferedPerS: rate, P99Ms: p99, Errors: errs, Launches: 100}
	}
	ser := openSeries{Target: "own-process", Store: "postgres", SaturationPerS: 400, Steps: []openStep{
		step(40, 2, 0), step(100, 4, 0), step(200, 8, 0), step(280, 30, 0), step(340, 9, 0), step(400, 150, 0),
	}}
	ser.summarise()
	if ser.MaxRateP99Le10Ms != 340 || ser.MaxRateP99Le10MsLast || !slices.Equal(ser.MaxRateP99Le10MsOver, []float64{280}) ||
		ser.MaxRateP99Le100Ms != 340 || ser.MaxRateP99Le100MsLast || len(ser.MaxRateP99Le100MsOver) != 0 {
		t.Errorf("highest rates: %+v", ser)
	}
	if h := ser.HalfSaturation; h == nil || !h.Met || h.P99Ms != 8 || !strings.Contains(h.Text, ": met") {
		t.Errorf("half saturation: %+v", h)
	}
	ser.Steps[2].Errors = 1
	ser.summarise()
	if ser.MaxRateP99Le10Ms != 340 || !slices.Equal(ser.MaxRateP99Le10MsOver, []float64{200, 280}) || ser.HalfSaturation.Met {
		t.Errorf("with errors at 200/s: %+v %+v", ser, ser.HalfSaturation)
	}
	peer := openSeries{Target: "ltijs", Store: "postgres", SaturationPerS: 50, Steps: []openStep{step(5, 20, 0), step(25, 50, 0)}}
	peer.summarise()
	if peer.HalfSaturation != nil || peer.MaxRateP99Le10Ms != 0 || peer.MaxRateP99Le100Ms != 25 || !peer.MaxRateP99Le100MsLast {
		t.Errorf("peer: %+v", peer)
	}
	peer.Steps = append(peer.Steps, step(40, 900, 0))
	peer.summarise()
	if peer.MaxRateP99Le100Ms != 25 || peer.MaxRateP99Le100MsLast {
		t.Errorf("peer: %+v", peer)
	}
}

// TestLatencyChart checks the chart is well-formed XML with a line per
// configuration and the dashed 10 ms line.
func TestLatencyChart(t *testing.T) {
	r := &results{Machine: machineInfo{CPUs: 2, Started: "2026-01-01T00:00:00Z", LoadStart: "1.0 1.0 1.0"}}
	r.OpenLoop = &openLoopResult{Arrivals: "uniform", Step: "5s", Series: []openSeries{
		{Target: "own-process", Store: "postgres", SaturationPerS: 800, MaxRateP99Le10Ms: 400, Steps: []openStep{
			{OfferedPerS: 80, P99Ms: 1.2}, {OfferedPerS: 400, P99Ms: 3.5}, {OfferedPerS: 880, P99Ms: 450, Errors: 2}}},
		{Target: "ltijs", Store: "postgres", SaturationPerS: 60, Steps: []openStep{
			{OfferedPerS: 6, P99Ms: 25}, {OfferedPerS: 30, P99Ms: 40}, {OfferedPerS: 66, P99Ms: 2100}}},
		{Target: "demo-tool", Store: "sqlite", Skipped: "no closed-loop launches/s without errors in this run"},
	}}
	path := filepath.Join(t.TempDir(), "latency.svg")
	if err := writeLatencyChart(path, r); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	polylines, dashed := checkSVG(t, b)
	if polylines != 2 || dashed != 1 {
		t.Errorf("%d polylines and %d dashed lines, want 2 and 1", polylines, dashed)
	}
	// Nothing measured still gives a valid document.
	empty := latencyChartSVG(&results{})
	if p, _ := checkSVG(t, []byte(empty)); p != 0 || !strings.Contains(empty, "no open-loop step") {
		t.Errorf("empty chart: %s", empty)
	}
}

// checkSVG parses an SVG document to its end and counts its polylines and
// dashed lines.
func checkSVG(t *testing.T, b []byte) (polylines, dashed int) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	root := ""
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, b)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			switch se.Name.Local {
			case "polyline":
				polylines++
			case "line":
				for _, a := range se.Attr {
					if a.Name.Local == "stroke-dasharray" {
						dashed++
					}
				}
			}
		}
	}
	if root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	return polylines, dashed
}

// TestOpenLoopSmoke runs the open loop end to end, short: in-process on
// the memory store, two low rates and half the closed-loop rate.
func TestOpenLoopSmoke(t *testing.T) {
	dir := t.TempDir()
	jsonPath, chartPath := filepath.Join(dir, "out.json"), filepath.Join(dir, "latency.svg")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	// -q: generator.run's progress goroutine can still be writing its
	// last line when run returns, which a bytes.Buffer does not survive.
	// -p99-cap 1m: every step runs however loaded the machine is; timings
	// are not judged here.
	code := run(ctx, []string{"-targets", "in-process", "-stores", "memory", "-clients", "4", "-launches", "100", "-warmup", "10",
		"-micro", "0", "-floors", "0", "-rates", "20,40", "-step-launches", "30", "-json", jsonPath, "-latency-chart", chartPath, "-q", "-p99-cap", "1m",
	}, &stdout, &stderr)
	t.Logf("ltibench output:\n%s", stdout.String())
	if code != 0 {
		t.Fatalf("ltibench exited %d:\n%s", code, stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		OpenLoop struct {
			Arrivals string `json:"arrivals"`
			Series   []struct {
				Target     string  `json:"target"`
				Saturation float64 `json:"saturation_launches_per_s"`
				Steps      []struct {
					Offered   float64 `json:"offered_per_s"`
					Scheduled int     `json:"scheduled"`
					Launches  int     `json:"launches"`
					Errors    int     `json:"errors"`
					P50       float64 `json:"p50_ms"`
					P99       float64 `json:"p99_ms"`
					Achieved  float64 `json:"achieved_per_s"`
				} `json:"steps"`
				Half *struct {
					Rate float64 `json:"rate_per_s"`
					P99  float64 `json:"p99_ms"`
				} `json:"half_saturation"`
			} `json:"series"`
		} `json:"open_loop"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	ol := res.OpenLoop
	if ol.Arrivals != "uniform" || len(ol.Series) != 1 {
		t.Fatalf("open loop: %+v", ol)
	}
	s := ol.Series[0]
	// 20/s, 40/s and half the closed-loop rate (unless the machine is so
	// loaded that it is one of the two).
	if s.Saturation <= 0 || len(s.Steps) < 2 || s.Half == nil || s.Half.P99 <= 0 {
		t.Fatalf("series: %+v", s)
	}
	for _, st := range s.Steps {
		if st.Scheduled != 30 || st.Launches != 30 || st.Errors != 0 || st.P50 <= 0 || st.P99 < st.P50 || st.Achieved <= 0 {
			t.Errorf("step %+v", st)
		}
	}
	svg, err := os.ReadFile(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	if p, d := checkSVG(t, svg); p != 1 || d != 1 {
		t.Errorf("chart: %d polylines, %d dashed lines", p, d)
	}
	if !strings.Contains(stdout.String(), "Open-loop latency") || !strings.Contains(stdout.String(), "at half its saturation") {
		t.Errorf("no open-loop section in the table")
	}
}
