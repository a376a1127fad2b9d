package vuln

import (
	"encoding/json"
	"errors"
	"io"
	"time"
)

// govulncheck -format json writes a stream of messages: config, progress,
// osv (each vulnerability's OSV entry) and finding (one per trace). A
// vulnerability is a finding here when govulncheck found its vulnerable
// code called (a trace frame names a function), which is also what makes
// govulncheck itself exit non-zero; imported or required-only findings are
// counted in Report.Ignored. The Go vulnerability database gives no
// severity: these findings are SeverityUnknown, which meets every
// threshold.
type govulnMessage struct {
	Config *struct {
		ProtocolVersion string `json:"protocol_version"`
		ScannerName     string `json:"scanner_name"`
		ScannerVersion  string `json:"scanner_version"`
		DBLastModified  string `json:"db_last_modified"`
		ScanLevel       string `json:"scan_level"`
	} `json:"config"`
	OSV *struct {
		ID      string   `json:"id"`
		Aliases []string `json:"aliases"`
	} `json:"osv"`
	Finding *struct {
		OSV   string `json:"osv"`
		Trace []struct {
			Module   string `json:"module"`
			Version  string `json:"version"`
			Package  string `json:"package"`
			Function string `json:"function"`
		} `json:"trace"`
	} `json:"finding"`
}

func parseGovulncheck(r io.Reader) (*Report, error) {
	dec := json.NewDecoder(r)
	rep := &Report{Format: FormatGovulncheck}
	aliases := map[string][]string{}
	called := map[string]int{} // key → index in rep.Findings
	ignored := map[string]bool{}
	sawConfig := false
	for {
		var m govulnMessage
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, jsonError(FormatGovulncheck, dec, err)
		}
		switch {
		case m.Config != nil:
			sawConfig = true
			rep.Tool, rep.ToolVersion = m.Config.ScannerName, m.Config.ScannerVersion
			if m.Config.DBLastModified != "" {
				t, err := time.Parse(time.RFC3339Nano, m.Config.DBLastModified)
				if err != nil {
					return nil, malformed(FormatGovulncheck, dec.InputOffset(), "config.db_last_modified %q: expected RFC 3339", m.Config.DBLastModified)
				}
				rep.Created, rep.CreatedFrom = t, "config.db_last_modified"
			}
		case m.OSV != nil:
			aliases[m.OSV.ID] = m.OSV.Aliases
		case m.Finding != nil:
			fd := m.Finding
			if fd.OSV == "" || len(fd.Trace) == 0 {
				return nil, malformed(FormatGovulncheck, dec.InputOffset(), "a finding without osv or trace")
			}
			top := fd.Trace[0]
			f := Finding{ID: fd.OSV, Package: top.Module, Version: top.Version, Severity: SeverityUnknown}
			if top.Function == "" {
				ignored[f.Key()] = true
				continue
			}
			if _, ok := called[f.Key()]; !ok {
				called[f.Key()] = len(rep.Findings)
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	if !sawConfig {
		return nil, malformed(FormatGovulncheck, -1, "no config message: expected the output of govulncheck -format json")
	}
	for k := range ignored {
		if _, ok := called[k]; !ok {
			rep.Ignored++
		}
	}
	for i := range rep.Findings {
		rep.Findings[i].Aliases = append(rep.Findings[i].Aliases, aliases[rep.Findings[i].ID]...)
	}
	return rep, nil
}
