// Package promexport writes a run's release metrics in the Prometheus
// exposition format with client_golang, as a node_exporter textfile
// (--metrics-out), so the team's dashboards see gate statuses, observed
// values and durations beside the service's own metrics. It reads the
// Report and never recomputes a status.
package promexport

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// registry returns a registry holding the report's metrics:
//
//   - releasegate_release_info{release,version,repository,tool,policy_digest} 1
//   - releasegate_release_status{status} 1 for the verdict, 0 for the others
//   - releasegate_gate_status{gate,kind,group,required,status} 1 for the
//     gate's status, 0 for the others
//   - releasegate_gate_duration_seconds{gate} from started_at to finished_at
//   - releasegate_check_value{gate,check,tenant,unit} each numeric observed
//     value (a check without one, or with NaN/Inf, has no sample: absent is
//     not zero)
//   - releasegate_check_status{gate,check,tenant,status} 1 for the check's
//     status, 0 for the others
//   - releasegate_run_duration_seconds first gate start to last gate finish
func registry(rep *gate.Report) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	info := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "releasegate_release_info",
		Help: "The gated release, the tool and the policy digest; always 1."},
		[]string{"release", "version", "repository", "tool", "policy_digest"})
	relStatus := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "releasegate_release_status",
		Help: "The release verdict: 1 for the report's status, 0 for the others."}, []string{"status"})
	gateStatus := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "releasegate_gate_status",
		Help: "Each gate's status: 1 for its status, 0 for the others."}, []string{"gate", "kind", "group", "required", "status"})
	gateDur := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "releasegate_gate_duration_seconds",
		Help: "How long each gate ran, from its start to its finish."}, []string{"gate"})
	checkValue := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "releasegate_check_value",
		Help: "Each check's numeric observed value, in the check's unit (label unit); absent when the check observed none."},
		[]string{"gate", "check", "tenant", "unit"})
	checkStatus := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "releasegate_check_status",
		Help: "Each check's status: 1 for its status, 0 for the others."}, []string{"gate", "check", "tenant", "status"})
	runDur := prometheus.NewGauge(prometheus.GaugeOpts{Name: "releasegate_run_duration_seconds",
		Help: "Gate wall time: first gate start to last gate finish."})
	for _, c := range []prometheus.Collector{info, relStatus, gateStatus, gateDur, checkValue, checkStatus} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register release metrics: %w", err)
		}
	}
	r := gate.Release{}
	if rep.Release != nil {
		r = *rep.Release
	}
	info.WithLabelValues(r.Name, r.Version, r.Repository, rep.Tool, rep.Policy.Digest).Set(1)
	for _, s := range gate.Statuses() {
		relStatus.WithLabelValues(string(s)).Set(oneIf(rep.Status == s))
	}
	seen := map[string]bool{}
	for _, res := range rep.Results {
		for _, s := range gate.Statuses() {
			gateStatus.WithLabelValues(res.Gate, res.Kind, res.Group, fmt.Sprint(res.Required), string(s)).Set(oneIf(res.Status == s))
		}
		if !res.StartedAt.IsZero() && !res.FinishedAt.Before(res.StartedAt) {
			gateDur.WithLabelValues(res.Gate).Set(res.FinishedAt.Sub(res.StartedAt).Seconds())
		}
		for _, c := range res.Checks {
			key := res.Gate + "\x00" + c.Name + "\x00" + c.Tenant
			if seen[key] {
				// two checks with the same name and tenant in one gate
				// would be one series; the first is kept
				continue
			}
			seen[key] = true
			if f, ok := c.Observed.Float(); ok {
				checkValue.WithLabelValues(res.Gate, c.Name, c.Tenant, c.Unit).Set(f)
			}
			for _, s := range gate.Statuses() {
				checkStatus.WithLabelValues(res.Gate, c.Name, c.Tenant, string(s)).Set(oneIf(c.Status == s))
			}
		}
	}
	if !rep.StartedAt.IsZero() && !rep.FinishedAt.Before(rep.StartedAt) {
		runDur.Set(rep.FinishedAt.Sub(rep.StartedAt).Seconds())
		if err := reg.Register(runDur); err != nil {
			return nil, fmt.Errorf("register release metrics: %w", err)
		}
	}
	return reg, nil
}

// WriteTextfile writes the report's metrics to path for node_exporter's
// textfile collector, atomically (a temporary file renamed over path).
func WriteTextfile(path string, rep *gate.Report) error {
	reg, err := registry(rep)
	if err != nil {
		return err
	}
	if err := prometheus.WriteToTextfile(path, reg); err != nil {
		return fmt.Errorf("write release metrics to %s: %w", path, err)
	}
	return nil
}

func oneIf(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
