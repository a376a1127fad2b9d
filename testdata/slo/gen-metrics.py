#!/usr/bin/env python3
"""Generates metrics.om: 6 hours of deterministic history at 1-minute steps,
ending 2026-11-28T00:00:00Z, in OpenMetrics (timestamps in seconds) so the
same file feeds the in-process engine and `promtool tsdb create-blocks-from
openmetrics`.

tenants:
  acme     1000 req/min, 0.1% errors; canary as good as baseline; p95 0.12s
  globex   1000 req/min, 0.1% errors, then 5% for the last 40 minutes
           (canary only); p95 0.45s
  initech  10 req/min, no 5xx series at all (a PromQL query for its errors
           returns nothing, not 0); p95 NaN for the last 10 minutes
"""
START = 1795824000 - 6 * 3600  # 2026-11-28T00:00:00Z
STEPS = 6 * 60 + 1

def rate(tenant, code, track, i):
    total = {"acme": 1000, "globex": 1000, "initech": 10}[tenant] / 2
    if tenant == "initech":
        return total if code == "200" else None
    err = 0.001
    if tenant == "globex" and track == "canary" and i >= STEPS - 40:
        err = 0.05
    return total * (1 - err) if code == "200" else total * err

out = ["# HELP http_requests Requests served.", "# TYPE http_requests counter"]
for tenant in ["acme", "globex", "initech"]:
    for track in ["baseline", "canary"]:
        for code in ["200", "500"]:
            if rate(tenant, code, track, 0) is None:
                continue
            c = 0.0
            for i in range(STEPS):
                if i > 0:
                    c += rate(tenant, code, track, i)
                out.append('http_requests_total{code="%s",tenant="%s",track="%s"} %s %d'
                           % (code, tenant, track, repr(round(c, 3)), START + 60 * i))
out += ["# HELP request_latency_p95_seconds p95 request latency.", "# TYPE request_latency_p95_seconds gauge"]
for tenant, p95 in [("acme", 0.12), ("globex", 0.45), ("initech", 0.2)]:
    for i in range(STEPS):
        v = "NaN" if tenant == "initech" and i >= STEPS - 10 else repr(p95)
        out.append('request_latency_p95_seconds{tenant="%s"} %s %d' % (tenant, v, START + 60 * i))
out.append("# EOF")
open("metrics.om", "w").write("\n".join(out) + "\n")
