#!/usr/bin/env python3
"""Generates metrics.om for the demo policy: two hours of the demo service's
own metrics (demo_http_requests_total, demo_http_request_duration_seconds)
scraped every two minutes, ending 2026-11-28T00:00:00Z, in OpenMetrics with
timestamps, so the slo and metric gates evaluate it in-process (no
Prometheus needed). Deterministic; rerun after changing it:

    python3 gen-metrics.py

tenants (all healthy, within the demo policy's objectives):
  acme     600 req/min, 0.05% 5xx, p95 ~ 60 ms
  globex   300 req/min, 0.2% 5xx,  p95 ~ 120 ms
  initech   60 req/min, no 5xx at all (its error query returns nothing; the
           policy's `or ... * 0` makes that an explicit zero), p95 ~ 40 ms
"""
END = 1795824000  # 2026-11-28T00:00:00Z
STEPS = 61  # two hours at two-minute steps
START = END - (STEPS - 1) * 120
ROUTE = "/t/{tenant}/items"
BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
TENANTS = {
    # per minute: requests, error fraction, cumulative share of requests per bucket
    "acme": (600, 0.0005, [0.02, 0.10, 0.45, 0.80, 0.97, 0.995, 0.999, 1, 1, 1, 1]),
    "globex": (300, 0.002, [0.01, 0.05, 0.20, 0.55, 0.90, 0.99, 0.998, 1, 1, 1, 1]),
    "initech": (60, 0.0, [0.05, 0.25, 0.70, 0.96, 0.99, 1, 1, 1, 1, 1, 1]),
}

def num(v):
    return repr(round(v, 3)) if v != int(v) else str(int(v))

out = [
    "# HELP demo_http_requests Requests served, by tenant, route, method and status code.",
    "# TYPE demo_http_requests counter",
]
for tenant, (per_min, err, _) in TENANTS.items():
    for code, share in (("200", 1 - err), ("500", err)):
        if share == 0:
            continue
        for i in range(STEPS):
            out.append('demo_http_requests_total{tenant="%s",route="%s",method="GET",code="%s"} %s %d'
                       % (tenant, ROUTE, code, num(per_min * 2 * share * i), START + 120 * i))
out += [
    "# HELP demo_http_request_duration_seconds Request latency, by tenant and route.",
    "# TYPE demo_http_request_duration_seconds histogram",
]
for tenant, (per_min, _, cdf) in TENANTS.items():
    labels = 'tenant="%s",route="%s"' % (tenant, ROUTE)
    for b, share in list(zip(BUCKETS, cdf)) + [("+Inf", 1)]:
        le = b if b == "+Inf" else repr(b)
        for i in range(STEPS):
            out.append('demo_http_request_duration_seconds_bucket{%s,le="%s"} %s %d'
                       % (labels, le, num(per_min * 2 * share * i), START + 120 * i))
    for i in range(STEPS):
        out.append('demo_http_request_duration_seconds_count{%s} %s %d' % (labels, num(per_min * 2 * i), START + 120 * i))
out.append("# EOF")
open("metrics.om", "w").write("\n".join(out) + "\n")
