package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Open-loop latency: launches started at a fixed arrival rate, whatever the
// server answers, each timed from the moment it was scheduled to start. A
// closed-loop client waits for an answer before it sends the next request,
// so a server that stalls also stops the clock of every request it kept
// from being sent; here it cannot (no coordinated omission).

// autoRates are the fractions of a configuration's closed-loop launches/s
// that -rates auto steps through.
var autoRates = []rateSpec{{0.10, true}, {0.25, true}, {0.50, true}, {0.70, true}, {0.85, true}, {1.00, true}, {1.10, true}}

// openLoopTargetMs is the bound on ltikit's p99 at half its own
// saturation rate; openLoopLooseMs the second bound reported per target.
const (
	openLoopTargetMs = 10.0
	openLoopLooseMs  = 100.0
)

// maxInFlight bounds the launches in flight in one step: past it the
// server is not keeping up by far, and the step ends with the launches
// not yet sent counted as not sent.
const maxInFlight = 2048

// lateLimit is the generator lateness (p99 of the time from a launch's
// scheduled start to its actual start) past which a step is marked as
// limited by the generator. The Go runtime's timers wait in whole
// milliseconds when the process is idle (epoll_wait's timeout), so up to
// about 1 ms of lateness is the timer's, not the load's.
const lateLimit = 2 * time.Millisecond

// rateSpec is one entry of -rates: launches/s, or a fraction of the
// configuration's closed-loop launches/s.
type rateSpec struct {
	value    float64
	fraction bool
}

// openLoopOptions are the open-loop flags.
type openLoopOptions struct {
	rates    []rateSpec
	step     time.Duration
	launches int
	p99Cap   time.Duration
	arrivals string
	chart    string
}

// parse reads -rates and checks the other open-loop flags.
func (o *openLoopOptions) parse(rates string) error {
	rates = strings.TrimSpace(rates)
	switch rates {
	case "":
	case "auto":
		o.rates = slices.Clone(autoRates)
	default:
		for _, f := range splitList(rates) {
			spec := rateSpec{}
			num := f
			if p, ok := strings.CutSuffix(f, "%"); ok {
				spec.fraction = true
				num = p
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return fmt.Errorf("-rates: %q is not a positive rate (launches/s) or percentage", f)
			}
			if spec.fraction {
				v /= 100
			}
			spec.value = v
			o.rates = append(o.rates, spec)
		}
	}
	if o.arrivals != "uniform" && o.arrivals != "poisson" {
		return fmt.Errorf("-arrivals %q: want uniform or poisson", o.arrivals)
	}
	if o.launches < 0 || (o.launches == 0 && o.step <= 0) || o.p99Cap <= 0 {
		return errors.New("-step-launches must not be negative, -step positive when -step-launches is 0, -p99-cap positive")
	}
	return nil
}

// openLoopResult is the open-loop part of the results.
type openLoopResult struct {
	Arrivals     string       `json:"arrivals"` // uniform: fixed intervals; poisson: exponential gaps
	Step         string       `json:"step,omitempty"`
	StepLaunches int          `json:"step_launches,omitempty"`
	P99Cap       string       `json:"p99_cap"`
	Latency      string       `json:"latency"`
	Series       []openSeries `json:"series"`
}

// openSeries is one configuration's steps.
type openSeries struct {
	Target string `json:"target"`
	Store  string `json:"store"`
	// SaturationPerS is the configuration's closed-loop launches/s in the
	// same run, the estimate the fractional rates scale.
	SaturationPerS float64    `json:"saturation_launches_per_s,omitempty"`
	Steps          []openStep `json:"steps"`
	Stopped        string     `json:"stopped,omitempty"` // why the steps ended before the last rate
	Skipped        string     `json:"skipped,omitempty"`
	Error          string     `json:"error,omitempty"`
	// MaxRateP99Le10Ms and MaxRateP99Le100Ms are the highest offered rate
	// of a measured step whose p99 was within 10 and 100 ms, with no
	// errors and every launch sent; 0 when no step was. The ...Last flags
	// say it was the last step run, so the rate may be higher; the
	// ...Over lists are the lower rates whose step was not within (on a
	// shared machine, mostly a small step's p99 caught by other work).
	MaxRateP99Le10Ms      float64   `json:"max_rate_p99_le_10ms"`
	MaxRateP99Le10MsLast  bool      `json:"max_rate_p99_le_10ms_is_last_step,omitempty"`
	MaxRateP99Le10MsOver  []float64 `json:"lower_rates_over_10ms,omitempty"`
	MaxRateP99Le100Ms     float64   `json:"max_rate_p99_le_100ms"`
	MaxRateP99Le100MsLast bool      `json:"max_rate_p99_le_100ms_is_last_step,omitempty"`
	MaxRateP99Le100MsOver []float64 `json:"lower_rates_over_100ms,omitempty"`
	// HalfSaturation is ltikit's target: p99 at half the saturation rate.
	HalfSaturation *halfSaturation `json:"half_saturation,omitempty"`
}

// halfSaturation is the check of p99 ≤ 10 ms at half the closed-loop
// launches/s, for the ltikit targets.
type halfSaturation struct {
	RatePerS float64 `json:"rate_per_s"`
	P99Ms    float64 `json:"p99_ms"` // -1: the step did not run
	LimitMs  float64 `json:"limit_ms"`
	Met      bool    `json:"met"`
	Text     string  `json:"text"`
}

// openStep is one fixed arrival rate.
type openStep struct {
	OfferedPerS float64 `json:"offered_per_s"`
	// Fraction is the offered rate ÷ the saturation estimate, 0 when
	// there is none.
	Fraction     float64  `json:"fraction_of_saturation,omitempty"`
	Scheduled    int      `json:"scheduled"`
	NotSent      int      `json:"not_sent,omitempty"` // more than maxInFlight were in flight
	Launches     int      `json:"launches"`           // completed, errors included
	Errors       int      `json:"errors"`
	ErrorSamples []string `json:"error_samples,omitempty"`
	// AchievedPerS is the successful launches ÷ the time from the first
	// scheduled start to the last completion.
	AchievedPerS float64 `json:"achieved_per_s"`
	WallSeconds  float64 `json:"wall_s"`
	P50Ms        float64 `json:"p50_ms"`
	P90Ms        float64 `json:"p90_ms"`
	P99Ms        float64 `json:"p99_ms"`
	P999Ms       float64 `json:"p99_9_ms"`
	MaxMs        float64 `json:"max_ms"`
	// P99SentMs is the p99 of the launches timed from their actual start
	// instead: without the generator's lateness, for telling it apart.
	P99SentMs float64 `json:"p99_from_actual_start_ms"`
	// LateP50Ms … LateMaxMs are how late the generator started launches
	// after their scheduled start (counted in the latency as well).
	LateP50Ms   float64 `json:"late_p50_ms"`
	LateP99Ms   float64 `json:"late_p99_ms"`
	LateMaxMs   float64 `json:"late_max_ms"`
	MaxInFlight int     `json:"max_in_flight"`
	// GeneratorLate is set when the late p99 exceeded lateLimit: the
	// generator (on the same CPUs as the server) did not keep the schedule.
	GeneratorLate bool `json:"generator_late,omitempty"`
	// Slowest are the step's slowest successful launches, slowest first,
	// with their clock times: to line a tail up with the server's and the
	// database's logs (autovacuum, checkpoints, garbage collection).
	Slowest []slowLaunch `json:"slowest,omitempty"`
}

// slowLaunch is one of a step's slowest launches.
type slowLaunch struct {
	// Due is its scheduled start, UTC.
	Due     time.Time `json:"due"`
	TotalMs float64   `json:"total_ms"` // its latency, as in the percentiles
	LateMs  float64   `json:"late_ms"`  // how late the generator started it
	// LoginMs and PostMs are the login round trip and the launch post
	// round trip (with the redirect it answers, for ltijs).
	LoginMs float64 `json:"login_ms"`
	PostMs  float64 `json:"post_ms"`
}

// slowestKept is how many of a step's slowest launches are reported.
const slowestKept = 5

const openLoopLatency = "per launch: from its scheduled start to the end of the launch post round trip (plus the redirect it answers, for ltijs), less the platform's signing between the login answer and the launch post; the time a launch started late is counted"

// openLoop measures, after the closed-loop configurations, each one that
// ran without errors again at the -rates arrival rates, on a fresh server,
// and writes -latency-chart. It does nothing without -rates.
func (b *bench) openLoop(ctx context.Context, res *results) error {
	o := b.opts.open
	if len(o.rates) == 0 {
		return nil
	}
	out := &openLoopResult{Arrivals: o.arrivals, P99Cap: o.p99Cap.String(), Latency: openLoopLatency}
	if o.launches > 0 {
		out.StepLaunches = o.launches
	} else {
		out.Step = o.step.String()
	}
	res.OpenLoop = out
	var errs []error
	for _, target := range b.opts.targets {
		for _, store := range b.opts.stores {
			if !supported(target, store) {
				continue
			}
			if ctx.Err() != nil {
				errs = append(errs, ctx.Err())
				break
			}
			ser := openSeries{Target: target, Store: store}
			for _, r := range res.Rows {
				if r.Target == target && r.Store == store && r.Filled == "" && r.Errors == 0 && r.LaunchesPerS > 0 {
					ser.SaturationPerS = r.LaunchesPerS
				}
			}
			if ser.SaturationPerS == 0 {
				ser.Skipped = "no closed-loop launches/s without errors in this run"
				out.Series = append(out.Series, ser)
				continue
			}
			err := b.openConfiguration(ctx, &ser)
			ser.summarise()
			if err != nil {
				ser.Error = err.Error()
				errs = append(errs, fmt.Errorf("%s/%s open loop: %w", target, store, err))
				res.Failed = append(res.Failed, fmt.Sprintf("%s/%s open loop: %v", target, store, err))
			}
			out.Series = append(out.Series, ser)
		}
	}
	if o.chart != "" {
		if err := writeLatencyChart(o.chart, res); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// stepRates returns the offered rates of a series in ascending order: the
// -rates entries, fractions scaled by the saturation estimate, with half
// the saturation rate added for the ltikit targets.
func stepRates(specs []rateSpec, saturation float64, target string) []float64 {
	var rates []float64
	for _, s := range specs {
		v := s.value
		if s.fraction {
			v *= saturation
		}
		rates = append(rates, v)
	}
	if target != "ltijs" && saturation > 0 {
		rates = append(rates, saturation/2)
	}
	slices.Sort(rates)
	var out []float64
	for _, r := range rates {
		if r < 0.5 {
			continue
		}
		if n := len(out); n > 0 && r <= out[n-1]*1.005 {
			continue // the same rate twice (half the saturation rate is often listed)
		}
		out = append(out, r)
	}
	return out
}

// openConfiguration starts the configuration's server afresh, warms it up
// closed-loop and runs the steps, lowest rate first, until one has errors,
// goes past maxInFlight or has a p99 over -p99-cap.
func (b *bench) openConfiguration(ctx context.Context, ser *openSeries) error {
	o := b.opts
	fmt.Fprintf(b.progress, "starting %s/%s for the open loop\n", ser.Target, ser.Store)
	s, err := b.start(ctx, ser.Target, ser.Store)
	if err != nil {
		return err
	}
	defer func() {
		if err := s.close(); err != nil {
			fmt.Fprintf(b.progress, "stopping %s: %v\n", s.name(), err)
		}
	}()
	g := newGenerator(b.platform, maxInFlight/2)
	defer g.transport.CloseIdleConnections()
	if o.warmup > 0 {
		w := g.run(ctx, s, min(o.clients, o.warmup), o.warmup, 0, "warm-up", b.progress)
		if w.errors > 0 {
			return fmt.Errorf("warm-up: %d of %d launches failed: %s%s", w.errors, w.launches, strings.Join(w.errorMsgs, "; "), tail(s))
		}
	}
	if b.pin != nil {
		// Threads the server started while warming up, back on the
		// tools' CPU.
		if err := b.pin.resweep(); err != nil {
			return err
		}
	}
	rng := rand.New(rand.NewPCG(1, 8))
	base := 1 << 24 // user numbers of their own, after the closed loop's
	rates := stepRates(o.open.rates, ser.SaturationPerS, ser.Target)
	for i, rate := range rates {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		n := o.open.launches
		if n == 0 {
			n = max(1, int(math.Round(rate*o.open.step.Seconds())))
		}
		offsets := arrivalOffsets(o.open.arrivals, rate, n, rng)
		launch := func(ctx context.Context, k int) (launchTiming, error) {
			lt, _, err := g.launchTimed(ctx, s, base+k)
			return lt, err
		}
		st := schedule(ctx, offsets, launch)
		base += n
		step := st.step(rate, ser.SaturationPerS)
		ser.Steps = append(ser.Steps, step)
		fmt.Fprintf(b.progress, "  %-22s open loop %7.1f/s: %d launches, achieved %.1f/s, p50 %.2f ms, p99 %.2f ms, max %.1f ms, late p99 %.2f ms, errors %d\n",
			s.name(), rate, step.Launches, step.AchievedPerS, step.P50Ms, step.P99Ms, step.MaxMs, step.LateP99Ms, step.Errors)
		next := ""
		if i+1 < len(rates) {
			next = fmt.Sprintf("stopped before %.0f/s: ", rates[i+1])
		}
		switch {
		case step.Errors > 0:
			return fmt.Errorf("%d of %d launches failed at %.1f/s: %s%s", step.Errors, step.Launches, rate, strings.Join(step.ErrorSamples, "; "), tail(s))
		case ctx.Err() != nil:
			return ctx.Err()
		case step.NotSent > 0:
			if next != "" {
				ser.Stopped = fmt.Sprintf("%smore than %d launches in flight at %.0f/s", next, maxInFlight, rate)
			}
			return nil
		case step.P99Ms > ms(o.open.p99Cap):
			if next != "" {
				ser.Stopped = fmt.Sprintf("%sp99 %.0f ms > %s at %.0f/s", next, step.P99Ms, o.open.p99Cap, rate)
			}
			return nil
		}
	}
	return nil
}

// arrivalOffsets returns n scheduled starts after the first, at rate per
// second: fixed intervals (uniform) or exponential gaps (poisson).
func arrivalOffsets(kind string, rate float64, n int, rng *rand.Rand) []time.Duration {
	out := make([]time.Duration, n)
	t := 0.0
	for i := range out {
		out[i] = time.Duration(t * float64(time.Second))
		if kind == "poisson" {
			t += rng.ExpFloat64() / rate
		} else {
			t = float64(i+1) / rate
		}
	}
	return out
}

// scheduleStats is what one schedule produced.
type scheduleStats struct {
	scheduled   int
	notSent     int
	errors      int
	errorMsgs   []string
	latencies   []time.Duration // sorted, successful launches
	sentToDone  []time.Duration // sorted, successful launches, from their actual start
	late        []time.Duration // sorted, every launch sent
	wall        time.Duration
	maxInFlight int
	slowest     []slowLaunch // up to slowestKept, slowest first
}

// launchTiming is the tool's share of one launch: its login round trip
// and its launch post round trip.
type launchTiming struct{ login, post time.Duration }

// schedule starts launch(k) at start + offsets[k] for every k, each in a
// goroutine of its own, whether or not earlier launches have answered. A
// launch's latency is how late it started after its scheduled start plus
// the time launch returns (the tool's share of it). When more than
// maxInFlight launches are in flight, the rest are not sent.
func schedule(ctx context.Context, offsets []time.Duration, launch func(ctx context.Context, k int) (launchTiming, error)) scheduleStats {
	n := len(offsets)
	st := scheduleStats{scheduled: n}
	lat := make([]time.Duration, n)
	phases := make([]launchTiming, n)
	late := make([]time.Duration, n)
	errs := make([]error, n)
	sent := make([]bool, n)
	var (
		wg       sync.WaitGroup
		inFlight atomic.Int64
		peak     int64 // only the dispatching loop adds to inFlight
		mu       sync.Mutex
		lastEnd  time.Time
	)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	start := time.Now().Add(time.Millisecond)
	for k := range n {
		due := start.Add(offsets[k])
		if d := time.Until(due); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
			case <-timer.C:
			}
		}
		if ctx.Err() != nil {
			st.notSent = n - k
			break
		}
		if inFlight.Load() >= maxInFlight {
			st.notSent = n - k
			break
		}
		sent[k] = true
		peak = max(peak, inFlight.Add(1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			began := time.Now()
			late[k] = began.Sub(due)
			lt, err := launch(ctx, k)
			inFlight.Add(-1)
			end := time.Now()
			lat[k], phases[k], errs[k] = late[k]+lt.login+lt.post, lt, err
			mu.Lock()
			if end.After(lastEnd) {
				lastEnd = end
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if !lastEnd.IsZero() {
		st.wall = lastEnd.Sub(start)
	}
	st.maxInFlight = int(peak)
	var ok []int // the successful launches
	for k := range n {
		if !sent[k] {
			continue
		}
		st.late = append(st.late, late[k])
		if errs[k] != nil {
			st.errors++
			if len(st.errorMsgs) < 5 {
				st.errorMsgs = append(st.errorMsgs, errs[k].Error())
			}
			continue
		}
		st.latencies = append(st.latencies, lat[k])
		st.sentToDone = append(st.sentToDone, phases[k].login+phases[k].post)
		ok = append(ok, k)
	}
	// The slowest successful launches, slowest first.
	slices.SortStableFunc(ok, func(a, b int) int { return cmp.Compare(lat[b], lat[a]) })
	for _, k := range ok[:min(len(ok), slowestKept)] {
		st.slowest = append(st.slowest, slowLaunch{Due: start.Add(offsets[k]).UTC(), TotalMs: ms(lat[k]),
			LateMs: ms(late[k]), LoginMs: ms(phases[k].login), PostMs: ms(phases[k].post)})
	}
	slices.Sort(st.latencies)
	slices.Sort(st.sentToDone)
	slices.Sort(st.late)
	return st
}

// step turns a schedule's figures into a step of the results.
func (st scheduleStats) step(rate, saturation float64) openStep {
	s := openStep{OfferedPerS: rate, Scheduled: st.scheduled, NotSent: st.notSent,
		Launches: len(st.latencies) + st.errors, Errors: st.errors, ErrorSamples: st.errorMsgs,
		WallSeconds: st.wall.Seconds(), MaxInFlight: st.maxInFlight, Slowest: st.slowest}
	if saturation > 0 {
		s.Fraction = rate / saturation
	}
	if ok := len(st.latencies); ok > 0 {
		if st.wall > 0 {
			s.AchievedPerS = float64(ok) / st.wall.Seconds()
		}
		s.P50Ms = ms(percentile(st.latencies, 50))
		s.P90Ms = ms(percentile(st.latencies, 90))
		s.P99Ms = ms(percentile(st.latencies, 99))
		s.P999Ms = ms(percentile(st.latencies, 99.9))
		s.MaxMs = ms(st.latencies[ok-1])
		s.P99SentMs = ms(percentile(st.sentToDone, 99))
	}
	if len(st.late) > 0 {
		s.LateP50Ms = ms(percentile(st.late, 50))
		s.LateP99Ms = ms(percentile(st.late, 99))
		s.LateMaxMs = ms(st.late[len(st.late)-1])
		s.GeneratorLate = percentile(st.late, 99) > lateLimit
	}
	return s
}

// within reports whether a step kept p99 within limit ms, with every
// scheduled launch sent and answered.
func (s openStep) within(limit float64) bool {
	return s.Errors == 0 && s.NotSent == 0 && s.Launches > 0 && s.P99Ms <= limit
}

// summarise computes the highest rates within 10 and 100 ms and, for the
// ltikit targets, the half-saturation check.
func (ser *openSeries) summarise() {
	highest := func(limit float64) (best float64, last bool, over []float64) {
		at := -1
		for i, s := range ser.Steps {
			if s.within(limit) {
				at = i
			}
		}
		if at < 0 {
			return 0, false, nil
		}
		for _, s := range ser.Steps[:at] {
			if !s.within(limit) {
				over = append(over, s.OfferedPerS)
			}
		}
		return ser.Steps[at].OfferedPerS, at == len(ser.Steps)-1, over
	}
	ser.MaxRateP99Le10Ms, ser.MaxRateP99Le10MsLast, ser.MaxRateP99Le10MsOver = highest(openLoopTargetMs)
	ser.MaxRateP99Le100Ms, ser.MaxRateP99Le100MsLast, ser.MaxRateP99Le100MsOver = highest(openLoopLooseMs)
	if ser.Target == "ltijs" || ser.SaturationPerS <= 0 {
		return
	}
	half := ser.SaturationPerS / 2
	h := &halfSaturation{RatePerS: half, P99Ms: -1, LimitMs: openLoopTargetMs}
	for _, s := range ser.Steps {
		if math.Abs(s.OfferedPerS-half) <= half*0.005 {
			h.P99Ms = s.P99Ms
			h.Met = s.within(openLoopTargetMs)
		}
	}
	verdict := "missed"
	if h.Met {
		verdict = "met"
	}
	name := ser.Target + "/" + ser.Store
	if h.P99Ms < 0 {
		h.Text = fmt.Sprintf("%s open loop at half its saturation (%.0f/s): not measured (target p99 ≤ %.0f ms): missed", name, half, openLoopTargetMs)
	} else {
		h.Text = fmt.Sprintf("%s open loop at half its saturation (%.0f/s): p99 %.2f ms (target ≤ %.0f ms): %s", name, half, h.P99Ms, openLoopTargetMs, verdict)
	}
	ser.HalfSaturation = h
}

// writeOpenLoop prints the open-loop steps and the per-configuration
// summary.
func writeOpenLoop(w io.Writer, r *results) {
	ol := r.OpenLoop
	if ol == nil || len(ol.Series) == 0 {
		return
	}
	per := ol.Step + " per rate"
	if ol.StepLaunches > 0 {
		per = strconv.Itoa(ol.StepLaunches) + " launches per rate"
	}
	arrivals := "fixed intervals"
	if ol.Arrivals == "poisson" {
		arrivals = "Poisson arrivals (exponential gaps)"
	}
	fmt.Fprintf(w, "Open-loop latency (%s, %s, on a fresh server after a closed-loop warm-up; each launch timed from its scheduled start,\n", arrivals, per)
	fmt.Fprintf(w, "the platform's signing excluded, the time it started late included; %% sat: of the closed-loop launches/s above):\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "target\tstore\toffered/s\t% sat\tsent\tachieved/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\tp99 from sent\terrors\tlate p50\tlate p99\tlate max\tin flight\t")
	for _, ser := range ol.Series {
		for _, s := range ser.Steps {
			sent := strconv.Itoa(s.Scheduled - s.NotSent)
			if s.NotSent > 0 {
				sent += " of " + strconv.Itoa(s.Scheduled)
			}
			late := ""
			if s.GeneratorLate {
				late = " (late)"
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f\t%s\t%s\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t%.1f\t%.2f\t%d\t%.2f\t%.2f%s\t%.1f\t%d\t\n",
				ser.Target, ser.Store, s.OfferedPerS, num(100*s.Fraction, "%.0f"), sent, s.AchievedPerS,
				s.P50Ms, s.P90Ms, s.P99Ms, s.P999Ms, s.MaxMs, s.P99SentMs, s.Errors, s.LateP50Ms, s.LateP99Ms, late, s.LateMaxMs, s.MaxInFlight)
		}
	}
	tw.Flush()
	fmt.Fprintf(w, "  late: how long after its scheduled start the generator started a launch (ms; up to ~1 ms is the Go runtime's timer granularity);\n")
	fmt.Fprintf(w, "  (late): its p99 over %s: the generator, which signs every id_token on the same CPUs, did not keep the schedule, and part of\n", lateLimit)
	fmt.Fprintf(w, "  the latency is its own (or the machine's). p99 from sent: the same launches timed from their actual start, lateness left out.\n")
	fmt.Fprintf(w, "  Percentiles are nearest rank: p99 is a step's maximum below 100 launches, p99.9 below 1000.\n")
	for _, ser := range ol.Series {
		name := ser.Target + "/" + ser.Store
		switch {
		case ser.Skipped != "":
			fmt.Fprintf(w, "  %s: skipped: %s\n", name, ser.Skipped)
			continue
		case len(ser.Steps) == 0:
			fmt.Fprintf(w, "  %s: no step measured: %s\n", name, ser.Error)
			continue
		}
		fmt.Fprintf(w, "  %s: saturation %.0f/s (closed loop); p99 ≤ 10 ms: %s; ≤ 100 ms: %s (measured steps, none interpolated)\n",
			name, ser.SaturationPerS, upTo(ser.MaxRateP99Le10Ms, ser.MaxRateP99Le10MsLast, ser.MaxRateP99Le10MsOver), upTo(ser.MaxRateP99Le100Ms, ser.MaxRateP99Le100MsLast, ser.MaxRateP99Le100MsOver))
		if ser.Stopped != "" {
			fmt.Fprintf(w, "    %s\n", ser.Stopped)
		}
		if h := ser.HalfSaturation; h != nil {
			fmt.Fprintf(w, "    %s\n", h.Text)
		}
		if late := lateSteps(ser.Steps); late != "" {
			fmt.Fprintf(w, "    the generator did not keep the schedule (late p99 > %s) at %s: there part of the latency is the generator's or the machine's\n", lateLimit, late)
		}
		writeStalls(w, ser.Steps)
	}
	fmt.Fprintln(w)
}

// stallMs is the latency from which writeStalls lists a launch.
const stallMs = 100

// writeStalls lists, per step, its launches that took stallMs or more
// (of the slowest kept), with their clock times and where the time went.
func writeStalls(w io.Writer, steps []openStep) {
	for _, s := range steps {
		var parts []string
		for _, l := range s.Slowest {
			if l.TotalMs < stallMs {
				break
			}
			parts = append(parts, fmt.Sprintf("%s %.0f ms (late %.1f, login %.1f, post %.1f)",
				l.Due.Format("15:04:05.000"), l.TotalMs, l.LateMs, l.LoginMs, l.PostMs))
		}
		if len(parts) > 0 {
			fmt.Fprintf(w, "    ≥ %d ms at %.0f/s, due (UTC): %s\n", stallMs, s.OfferedPerS, strings.Join(parts, "; "))
		}
	}
}

func upTo(rate float64, last bool, over []float64) string {
	if rate <= 0 {
		return "no step"
	}
	out := fmt.Sprintf("up to %.0f/s", rate)
	var notes []string
	if last {
		notes = append(notes, "the highest step run")
	}
	if len(over) > 0 {
		var r []string
		for _, v := range over {
			r = append(r, fmt.Sprintf("%.0f/s", v))
		}
		notes = append(notes, "over at the lower "+strings.Join(r, ", "))
	}
	if len(notes) > 0 {
		out += " (" + strings.Join(notes, "; ") + ")"
	}
	return out
}

func lateSteps(steps []openStep) string {
	var out []string
	for _, s := range steps {
		if s.GeneratorLate {
			out = append(out, fmt.Sprintf("%.0f/s (%.1f ms)", s.OfferedPerS, s.LateP99Ms))
		}
	}
	return strings.Join(out, ", ")
}
