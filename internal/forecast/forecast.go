// Package forecast predicts hourly spend series and states how accurate the
// prediction is.
//
// Three families of methods are offered: seasonal naive (the same hour one
// season ago, for a daily and a weekly season), simple exponential smoothing,
// and additive Holt-Winters. Select backtests every candidate on the most
// recent part of the history it is given and keeps the one with the lowest
// WAPE (weighted absolute percentage error, Σ|forecast − actual| / Σ actual);
// the prediction interval comes from that backtest's residuals, so it is
// honest about the error the method actually made. A recent level shift
// (DetectShift) is adapted to before selection: the history before it is
// scaled to the new level, so the choice does not favour models fitted to
// a level the series has left.
package forecast

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// ErrTooShort means the history is too short for any method to be backtested.
var ErrTooShort = errors.New("history too short to forecast")

// ErrNonFinite means the history contains NaN or ±Inf values.
var ErrNonFinite = errors.New("history contains a non-finite value")

// Method predicts the next h values of a series.
type Method interface {
	// Name identifies the method in results, e.g. "seasonal-naive-24h".
	Name() string
	// MinHistory is how many points the method needs to forecast.
	MinHistory() int
	// Forecast returns h predicted values following history.
	Forecast(history []float64, h int) []float64
}

// SeasonalNaive repeats the value one season (Period points) earlier.
type SeasonalNaive struct {
	// Period is the season length in points, e.g. 24 for hourly data with a
	// daily season, 168 for a weekly one.
	Period int
}

// Name implements Method.
func (m SeasonalNaive) Name() string { return fmt.Sprintf("seasonal-naive-%dh", m.Period) }

// MinHistory implements Method.
func (m SeasonalNaive) MinHistory() int { return m.Period }

// Forecast implements Method.
func (m SeasonalNaive) Forecast(history []float64, h int) []float64 {
	out := make([]float64, h)
	n := len(history)
	for i := range out {
		// walk back whole seasons until the index lands in the history
		j := n + i - m.Period
		for j >= n {
			j -= m.Period
		}
		out[i] = history[j]
	}
	return out
}

// SeasonalDrift is seasonal naive with growth: the value one season earlier
// scaled by the ratio of the last season's total to the one before, so a
// steady trend in a seasonal series is carried forward in proportion to each
// hour's level. With no usage in the earlier season the ratio is 1.
type SeasonalDrift struct {
	Period int
}

// Name implements Method.
func (m SeasonalDrift) Name() string { return fmt.Sprintf("seasonal-growth-%dh", m.Period) }

// MinHistory implements Method.
func (m SeasonalDrift) MinHistory() int { return 2 * m.Period }

// Forecast implements Method.
func (m SeasonalDrift) Forecast(history []float64, h int) []float64 {
	n, p := len(history), m.Period
	var last, prev float64
	for t := n - p; t < n; t++ {
		last += history[t]
		prev += history[t-p]
	}
	g := 1.0
	if prev > 0 {
		g = last / prev
	}
	out := SeasonalNaive{Period: p}.Forecast(history, h)
	for i := range out {
		out[i] = math.Max(0, out[i]*math.Pow(g, float64(i/p+1)))
	}
	return out
}

// SES is simple exponential smoothing: a flat forecast at the smoothed level.
type SES struct {
	// Alpha is the level smoothing factor in (0, 1].
	Alpha float64
}

// Name implements Method.
func (m SES) Name() string { return fmt.Sprintf("exp-smoothing(a=%.2g)", m.Alpha) }

// MinHistory implements Method.
func (m SES) MinHistory() int { return 2 }

// Forecast implements Method.
func (m SES) Forecast(history []float64, h int) []float64 {
	level := history[0]
	for _, y := range history[1:] {
		level = m.Alpha*y + (1-m.Alpha)*level
	}
	out := make([]float64, h)
	for i := range out {
		out[i] = math.Max(0, level)
	}
	return out
}

// HoltWinters is additive triple exponential smoothing: level, trend and a
// seasonal component of length Period.
type HoltWinters struct {
	Period             int
	Alpha, Beta, Gamma float64
}

// Name implements Method.
func (m HoltWinters) Name() string {
	return fmt.Sprintf("holt-winters-%dh(a=%.2g,b=%.2g,g=%.2g)", m.Period, m.Alpha, m.Beta, m.Gamma)
}

// MinHistory implements Method: two full seasons initialise level, trend
// and the seasonal indices.
func (m HoltWinters) MinHistory() int { return 2 * m.Period }

// Forecast implements Method. Negative predictions are clamped to zero:
// spend cannot be negative.
func (m HoltWinters) Forecast(history []float64, h int) []float64 {
	p := m.Period
	// initial level: mean of the first season; trend: mean change per point
	// between the first two seasons; seasonal: deviation from the first
	// season's mean.
	var s1, s2 float64
	for i := 0; i < p; i++ {
		s1 += history[i]
		s2 += history[p+i]
	}
	level := s1 / float64(p)
	trend := (s2 - s1) / float64(p*p)
	season := make([]float64, p)
	for i := 0; i < p; i++ {
		season[i] = history[i] - level
	}
	for t := p; t < len(history); t++ {
		y := history[t]
		si := season[t%p]
		prev := level
		level = m.Alpha*(y-si) + (1-m.Alpha)*(level+trend)
		trend = m.Beta*(level-prev) + (1-m.Beta)*trend
		season[t%p] = m.Gamma*(y-level) + (1-m.Gamma)*si
	}
	n := len(history)
	out := make([]float64, h)
	for i := range out {
		out[i] = math.Max(0, level+float64(i+1)*trend+season[(n+i)%p])
	}
	return out
}

// Candidates returns the methods Select compares by default: seasonal naive
// over a day and a week, weekly seasonal naive with growth, simple exponential smoothing, and Holt-Winters
// with a daily and a weekly season over a small grid of smoothing factors.
func Candidates() []Method {
	ms := []Method{SeasonalNaive{Period: 24}, SeasonalNaive{Period: 168}, SeasonalDrift{Period: 168}, SES{Alpha: 0.3}}
	for _, a := range []float64{0.1, 0.3} {
		for _, g := range []float64{0.1, 0.3} {
			ms = append(ms, HoltWinters{Period: 24, Alpha: a, Beta: 0.01, Gamma: g})
		}
	}
	for _, a := range []float64{0.1, 0.3} {
		for _, b := range []float64{0.01, 0.1} {
			ms = append(ms, HoltWinters{Period: 168, Alpha: a, Beta: b, Gamma: 0.3})
		}
	}
	return ms
}

// wape returns Σ|forecast − actual| / Σ|actual|. When every actual is zero
// it returns 0 if the forecast is zero too (an idle tenant predicted idle is
// perfectly accurate) and +Inf otherwise: the ratio is undefined and must
// not read as a small drift. The slices must have equal length.
func wape(forecast, actual []float64) float64 {
	var errSum, actSum float64
	for i := range actual {
		errSum += math.Abs(forecast[i] - actual[i])
		actSum += math.Abs(actual[i])
	}
	if actSum == 0 {
		if errSum == 0 {
			return 0
		}
		return math.Inf(1)
	}
	return errSum / actSum
}

// Score is one method's backtest outcome.
type Score struct {
	Method string  `json:"method"`
	WAPE   float64 `json:"wape"`
}

// Prediction is a forecast with its interval and the evidence behind it.
type Prediction struct {
	// Method is the chosen method's name.
	Method string `json:"method"`
	// Points are the predicted values, one per step.
	Points []float64 `json:"points"`
	// Total is the sum of Points; Low and High bound it at the interval's
	// coverage.
	Total float64 `json:"total"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
	// Coverage is the nominal coverage of [Low, High], e.g. 0.9.
	Coverage float64 `json:"coverage"`
	// BacktestWAPE is the chosen method's WAPE over the selection windows.
	BacktestWAPE float64 `json:"backtest_wape"`
	// Scores lists every candidate's backtest WAPE, best first.
	Scores []Score `json:"scores"`
	// Windows and WindowHours are the backtest the choice rests on: how
	// many consecutive windows at the end of the history, each how long.
	Windows     int `json:"windows"`
	WindowHours int `json:"window_hours"`
	// Shift is the recent level shift detected in the history, if any;
	// then only the windows after it choose the method.
	Shift *Shift `json:"shift,omitempty"`
}

// Shift is a recent change in a series' level.
type Shift struct {
	// HoursAgo is how long before the end of the history the new level
	// began, to ShiftBlock hours.
	HoursAgo int `json:"hours_ago"`
	// Ratio is the new level over the old, both measured against the
	// same hours one week earlier (so daily and weekly seasons cancel).
	Ratio float64 `json:"ratio"`
}

// ShiftBlock is the resolution of shift detection in points (hours), and
// ShiftThreshold the relative change in level that counts as a shift.
const (
	shiftBlock     = 12
	shiftThreshold = 0.2
)

// detectShift looks for a recent level shift. Every hour is compared with
// the same hour one week earlier, so daily and weekly seasons cancel; the
// usual ratio is the median over 12-hour blocks 3 to 7 days ago. For the
// last K blocks (K = 1 … 6: 12 to 72 hours) it takes the ratio of their
// total to the same hours a week earlier, relative to the usual one, and
// keeps the K where that change is clearest (|log ratio| × √K, longer runs
// weigh more as their noise averages out). A shift is reported when that
// ratio is off by more than ShiftThreshold and it spans at least two
// blocks (a day): a single odd half-day is noise. It needs two weeks of
// history and returns nil otherwise or when nothing moved. A shift one to
// two weeks ago also shows, as a change against the week before.
func detectShift(history []float64) *Shift {
	const week = 168
	n := len(history)
	if n < 2*week {
		return nil
	}
	blockSum := func(k int) (now, before float64) {
		for t := n - shiftBlock*(k+1); t < n-shiftBlock*k; t++ {
			now += history[t]
			before += history[t-week]
		}
		return now, before
	}
	var base []float64
	for k := 72 / shiftBlock; k < week/shiftBlock; k++ {
		if now, before := blockSum(k); before > 0 {
			base = append(base, now/before)
		}
	}
	if len(base) < 3 {
		return nil
	}
	sort.Float64s(base)
	usual := base[len(base)/2]
	if usual <= 0 {
		return nil
	}
	var best *Shift
	bestScore := 0.0
	var now, before float64
	for k := 0; k < 72/shiftBlock; k++ {
		a, b := blockSum(k)
		now, before = now+a, before+b
		if before <= 0 || now <= 0 {
			continue
		}
		r := now / before / usual
		score := math.Abs(math.Log(r)) * math.Sqrt(float64(k+1))
		if k >= 1 && math.Abs(r-1) > shiftThreshold && score > bestScore {
			best, bestScore = &Shift{HoursAgo: (k + 1) * shiftBlock, Ratio: r}, score
		}
	}
	return best
}

// selectionWindows is how many consecutive horizon-long windows at the end
// of the history Select backtests each candidate on (fewer when the history
// is shorter). Several windows keep one odd day from choosing the method.
const selectionWindows = 7

// minTraining is the fewest points any method is fitted on: one day.
const minTraining = 24

// maxWindow bounds the length of a selection window: a forecast to the end
// of a month is chosen by backtests over week-long windows, and its interval
// is widened in proportion to the longer horizon.
const maxWindow = 168

// Select backtests each candidate on up to SelectionWindows consecutive
// windows of min(h, MaxWindow) points at the end of history (each window forecast from the
// points before it only), keeps the candidate with the lowest WAPE over all
// its windows, and forecasts h points after history with it. The 90%
// interval's half-width is the mean absolute error of the window totals
// scaled by 1.645/0.798 (normal quantile over the mean-absolute-deviation
// constant): it reflects the error the chosen method actually made. It
// fails when history is too short or not finite.
func Select(history []float64, h int, candidates []Method) (*Prediction, error) {
	if h <= 0 {
		return nil, fmt.Errorf("forecast horizon must be positive, got %d", h)
	}
	for i, v := range history {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%w at point %d: %v", ErrNonFinite, i, v)
		}
	}
	if len(candidates) == 0 {
		candidates = Candidates()
	}
	wl := min(h, maxWindow)
	type scored struct {
		m        Method
		wape     float64
		totalErr float64 // mean |Σforecast − Σactual| per window
	}
	// after a level shift the history before it is brought to the new
	// level, so models are chosen and fitted on what the series is now,
	// not on a level it left
	shift := detectShift(history)
	if shift != nil {
		adj := append([]float64(nil), history...)
		for t := range adj[:len(adj)-shift.HoursAgo] {
			adj[t] *= shift.Ratio
		}
		history = adj
	}
	maxWindows := selectionWindows
	var ok []scored
	windowsUsed := 0
	for _, m := range candidates {
		need := max(m.MinHistory(), minTraining)
		var absSum, actSum, totErr float64
		windows := 0
		for w := 1; w <= maxWindows; w++ {
			cut := len(history) - w*wl
			if cut < need {
				break
			}
			f := m.Forecast(history[:cut], wl)
			var fs, as float64
			for i, a := range history[cut : cut+wl] {
				absSum += math.Abs(f[i] - a)
				actSum += math.Abs(a)
				fs += f[i]
				as += a
			}
			totErr += math.Abs(fs - as)
			windows++
		}
		if windows == 0 {
			continue
		}
		wape := 0.0
		switch {
		case actSum > 0:
			wape = absSum / actSum
		case absSum > 0:
			wape = math.Inf(1)
		}
		ok = append(ok, scored{m, wape, totErr / float64(windows)})
		windowsUsed = max(windowsUsed, windows)
	}
	if len(ok) == 0 {
		return nil, fmt.Errorf("%w: have %d hourly points, need at least %d (a day of history plus a %d-point backtest window); collect a longer period",
			ErrTooShort, len(history), wl+max(minTraining, minOf(candidates)), wl)
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].wape < ok[j].wape })
	best := ok[0]
	p := &Prediction{Method: best.m.Name(), Points: best.m.Forecast(history, h), Coverage: 0.9, BacktestWAPE: best.wape,
		Windows: windowsUsed, WindowHours: wl, Shift: shift}
	for _, s := range ok {
		p.Scores = append(p.Scores, Score{Method: s.m.Name(), WAPE: s.wape})
	}
	for _, v := range p.Points {
		p.Total += v
	}
	half := best.totalErr * 1.645 / 0.798 * float64(h) / float64(wl)
	p.Low, p.High = math.Max(0, p.Total-half), p.Total+half
	return p, nil
}

func minOf(ms []Method) int {
	m := math.MaxInt
	for _, x := range ms {
		m = min(m, x.MinHistory())
	}
	return m
}

// Backtest is the accuracy of forecasting the last h points of a series from
// the points before them.
type Backtest struct {
	// Prediction is what Select forecast for the held-out window, fitted and
	// chosen on the history before it only.
	Prediction *Prediction `json:"prediction"`
	// Actual are the held-out values.
	Actual []float64 `json:"actual"`
	// ActualTotal is their sum.
	ActualTotal float64 `json:"actual_total"`
	// WAPE of Prediction.Points against Actual.
	WAPE float64 `json:"wape"`
}

// RunBacktest holds out the last h points of series, lets Select choose and
// fit a method on the points before them only (so nothing from the holdout
// leaks into the choice), and measures the forecast against the holdout.
func RunBacktest(series []float64, h int, candidates []Method) (*Backtest, error) {
	if h <= 0 || len(series) <= h {
		return nil, fmt.Errorf("%w: have %d points, need more than the %d-point backtest window", ErrTooShort, len(series), h)
	}
	cut := len(series) - h
	p, err := Select(series[:cut], h, candidates)
	if err != nil {
		return nil, err
	}
	bt := &Backtest{Prediction: p, Actual: append([]float64(nil), series[cut:]...)}
	for _, v := range bt.Actual {
		bt.ActualTotal += v
	}
	bt.WAPE = wape(p.Points, bt.Actual)
	return bt, nil
}
