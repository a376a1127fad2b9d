package budgetgate

import (
	"fmt"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// Drift is a forecast backtest a command asks for.
type Drift struct {
	// Tenant is the tenant whose forecast is backtested.
	Tenant string
	// Hours are the final hours forecast from the history before them.
	Hours int
	// MaxDrift is the largest WAPE accepted; unless MaxDriftSet, the
	// gate's forecast.max-drift (0.05 when unset) is used instead.
	MaxDrift    float64
	MaxDriftSet bool
}

// PlanDrift plans the backtest of one tenant's forecast over the settings
// of a cost-forecast or ci-budget gate, as a gate of kind cost-forecast
// named forecast-drift-TENANT. It never throttles, whatever the settings
// say. A tenant the settings do not name is a *gate.InputError.
func PlanDrift(m gate.Meta, s Spec, env gate.Env, d Drift) (gate.Planned, error) {
	s.Throttle.Enforce = false // a forecast never acts
	known := false
	var names []string
	for _, t := range s.Tenants {
		known = known || t.Name == d.Tenant
		names = append(names, t.Name)
	}
	if !known {
		return gate.Planned{}, &gate.InputError{Input: "tenant", Err: fmt.Errorf("%q: gate %s has no such tenant; expected one of %v", d.Tenant, m.ID, names)}
	}
	fg, err := NewForecast(m, s, env, Options{})
	if err != nil {
		return gate.Planned{}, err
	}
	if !d.MaxDriftSet {
		d.MaxDrift = fg.spec.Forecast.MaxDrift // NewForecast defaults it to 0.05
	}
	m.ID, m.Kind = "forecast-drift-"+d.Tenant, KindForecast
	m.Timeout = max(m.Timeout, time.Minute)
	return gate.Planned{Meta: m, Gate: fg.DriftGate(m.ID, d.Tenant, d.Hours, d.MaxDrift)}, nil
}
