package forecast

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// synth makes n hourly points with a daily and a weekly season, a linear
// trend and multiplicative noise, from a fixed seed.
func synth(n int, base, trend, noise float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for t := range out {
		hour, day := t%24, (t/24)%7
		daily := 1 + 0.8*math.Sin(2*math.Pi*float64(hour-6)/24)
		weekly := 1.0
		if day >= 5 {
			weekly = 0.35 // weekends are quiet
		}
		v := (base + trend*float64(t)) * daily * weekly
		v *= 1 + noise*r.NormFloat64()
		out[t] = math.Max(0, v)
	}
	return out
}

func TestBacktestOnSeasonalSeries(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		series  []float64
		maxWAPE float64
	}{
		{"daily and weekly seasons without noise are forecast almost exactly", synth(24*28, 10, 0, 0, 1), 0.01},
		{"daily and weekly seasons with 5% noise stay within 10% WAPE", synth(24*28, 10, 0, 0.05, 2), 0.10},
		{"an upward trend with 5% noise stays within 10% WAPE", synth(24*28, 10, 0.01, 0.05, 3), 0.10},
		{"20% noise stays within 25% WAPE", synth(24*28, 10, 0, 0.20, 4), 0.25},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			bt, err := RunBacktest(c.series, 24, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range bt.Prediction.Scores {
				t.Logf("selection holdout WAPE %-40s %.4f", s.Method, s.WAPE)
			}
			t.Logf("chosen %s, backtest WAPE %.4f, actual %.1f in [%.1f, %.1f]", bt.Prediction.Method, bt.WAPE,
				bt.ActualTotal, bt.Prediction.Low, bt.Prediction.High)
			if bt.WAPE > c.maxWAPE {
				t.Errorf("WAPE %.4f > %.4f", bt.WAPE, c.maxWAPE)
			}
			if bt.ActualTotal < bt.Prediction.Low || bt.ActualTotal > bt.Prediction.High {
				t.Errorf("actual total %.2f outside the 90%% interval [%.2f, %.2f]", bt.ActualTotal, bt.Prediction.Low, bt.Prediction.High)
			}
		})
	}
}

func TestWeeklySeasonPicksAWeeklyMethodOnMonday(t *testing.T) {
	t.Parallel()
	// 4 weeks + 5 days ends on a Friday's eve; holding out 24 h that start on
	// a Saturday means "same hour yesterday" is wrong by the weekend drop.
	s := synth(24*(28+6), 10, 0, 0, 5)
	bt, err := RunBacktest(s, 24, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bt.WAPE > 0.05 {
		t.Errorf("weekend after weekdays: WAPE %.4f with %s; a weekly method should get it within 5%%", bt.WAPE, bt.Prediction.Method)
	}
	naiveDaily := SeasonalNaive{Period: 24}.Forecast(s[:len(s)-24], 24)
	if w := wape(naiveDaily, s[len(s)-24:]); w < 0.5 {
		t.Errorf("the test series should defeat a daily naive forecast, but its WAPE is only %.4f", w)
	}
}

func TestIdleTenantHasZeroDrift(t *testing.T) {
	t.Parallel()
	bt, err := RunBacktest(make([]float64, 24*10), 24, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bt.WAPE != 0 || bt.Prediction.Total != 0 || bt.Prediction.High != 0 {
		t.Errorf("idle tenant: WAPE %v total %v high %v, want all 0", bt.WAPE, bt.Prediction.Total, bt.Prediction.High)
	}
}

func TestWAPE(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		f, a []float64
		want float64
	}{
		{"a perfect forecast has zero WAPE", []float64{1, 2}, []float64{1, 2}, 0},
		{"errors are weighted by the total actual", []float64{2, 2}, []float64{1, 3}, 0.5},
		{"zero actuals and zero forecast are not a division by zero", []float64{0, 0}, []float64{0, 0}, 0},
		{"zero actuals with a non-zero forecast are infinitely wrong", []float64{0, 1}, []float64{0, 0}, math.Inf(1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := wape(c.f, c.a); got != c.want {
				t.Errorf("WAPE = %v, want %v", got, c.want)
			}
		})
	}
}

func TestSelectFailsClosed(t *testing.T) {
	t.Parallel()
	if _, err := Select(make([]float64, 30), 24, nil); !errors.Is(err, ErrTooShort) {
		t.Errorf("30 points for a 24-point horizon: err = %v, want ErrTooShort", err)
	}
	s := synth(24*10, 10, 0, 0, 6)
	s[17] = math.NaN()
	if _, err := Select(s, 24, nil); !errors.Is(err, ErrNonFinite) {
		t.Errorf("NaN in history: err = %v, want ErrNonFinite", err)
	}
	if _, err := RunBacktest(make([]float64, 24), 24, nil); !errors.Is(err, ErrTooShort) {
		t.Errorf("series no longer than the window: err = %v, want ErrTooShort", err)
	}
}

func TestMonthEndHorizonIsChosenOnWeekLongWindows(t *testing.T) {
	t.Parallel()
	// 4 weeks of history, 20 days to forecast: selection must not need
	// 7 × 480 hours of history
	s := synth(24*28, 10, 0, 0.05, 7)
	p, err := Select(s, 24*20, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Points) != 24*20 || !(p.Low <= p.Total && p.Total <= p.High) {
		t.Errorf("%d points, total %.1f in [%.1f, %.1f]", len(p.Points), p.Total, p.Low, p.High)
	}
	week := 0.0
	for _, v := range p.Points[:168] {
		week += v
	}
	var lastWeek float64
	for _, v := range s[len(s)-168:] {
		lastWeek += v
	}
	if math.Abs(week-lastWeek)/lastWeek > 0.1 {
		t.Errorf("the first forecast week %.1f strays more than 10%% from the last week %.1f", week, lastWeek)
	}
}
