package budget

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/maestro-conductor/releasegate/internal/gate"
)

// csvError is one problem in a usage report export, at a line and column.
type csvError struct {
	// Line is the 1-based line of the record; 1 is the header.
	Line int
	// Column is the header name of the offending field, when there is one.
	Column string
	// Err says what is wrong.
	Err error
}

func (e *csvError) Error() string {
	if e.Column != "" {
		return fmt.Sprintf("line %d: column %s: %v", e.Line, e.Column, e.Err)
	}
	return fmt.Sprintf("line %d: %v", e.Line, e.Err)
}

// Unwrap returns the wrapped error.
func (e *csvError) Unwrap() error { return e.Err }

// Is makes every CSVError match gate.ErrBadInput.
func (e *csvError) Is(target error) bool { return target == gate.ErrBadInput }

// Basis chooses which amount of a usage report is the cost.
type Basis string

// The cost bases a usage report offers.
const (
	// Gross is the list price of what was used, before included minutes
	// and public-repository discounts: what a tenant consumed.
	Gross Basis = "gross"
	// Net is what the account is billed after discounts.
	Net Basis = "net"
)

// requiredColumns must appear in a usage report header. They are the
// fields GitHub documents for both the summarized and the detailed report.
var requiredColumns = []string{"date", "product", "sku", "quantity", "unit_type", "repository"}

// maxCSVErrors bounds how many row problems are collected before giving up.
const maxCSVErrors = 20

// Report is a parsed usage report.
type Report struct {
	// Records are the GitHub Actions minute rows.
	Records []Record
	// Daily is true when every row's date is a calendar day (the
	// summarized and detailed exports), false when rows carry hours.
	Daily bool
	// Skipped counts rows of other products and units (storage, Copilot,
	// Packages), which are not CI minutes.
	Skipped int
}

// ReadUsageCSV parses a GitHub enhanced billing usage report export
// (summarized or detailed). It keeps the rows with product "actions" and
// unit_type "minutes" and prices them with the report's own amounts:
// gross_amount or net_amount per basis, or quantity ×
// applied_cost_per_quantity when the amount column is absent. Every bad row
// is reported (up to 20) with its line; an export without a single Actions
// minute row is gate.ErrNoData, never zero spend.
func ReadUsageCSV(r io.Reader, basis Basis) (*Report, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(3); err == nil && bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cols, err := readUsageHeader(cr, basis)
	if err != nil {
		return nil, err
	}
	rep := &Report{Daily: true}
	var errs []error
	bad := func(line int, column string, format string, args ...any) {
		errs = append(errs, &csvError{Line: line, Column: column, Err: fmt.Errorf(format, args...)})
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				bad(0, "", "unreadable: %v", err)
				break
			}
			bad(pe.Line, "", "malformed CSV: %v", pe.Err)
			if len(errs) >= maxCSVErrors {
				break
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if !strings.EqualFold(cols.field(rec, "product"), "actions") || !strings.EqualFold(cols.field(rec, "unit_type"), "minutes") {
			rep.Skipped++
			continue
		}
		row, daily, ok := cols.row(rec, line, bad)
		rep.Daily = rep.Daily && daily
		if len(errs) >= maxCSVErrors {
			break
		}
		if ok {
			rep.Records = append(rep.Records, row)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(rep.Records) == 0 {
		return nil, fmt.Errorf("%w: the usage export has no GitHub Actions minute rows (%d other rows); expected rows with product=actions and unit_type=minutes; export a usage report that covers the period", gate.ErrNoData, rep.Skipped)
	}
	SortRecords(rep.Records)
	return rep, nil
}

// usageColumns is a usage report's header: where each column is and which
// amount is the cost.
type usageColumns struct {
	col map[string]int
	// amountCol is gross_amount or net_amount per basis; when the report
	// lacks it (hasAmount false), the cost is quantity ×
	// applied_cost_per_quantity.
	amountCol string
	hasAmount bool
}

// readUsageHeader reads the header line and checks that it names every
// required column and a way to price a row. An empty export is
// gate.ErrNoData.
func readUsageHeader(cr *csv.Reader, basis Basis) (*usageColumns, error) {
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: the usage export is empty; expected a header line starting with date,product,sku,quantity; export a usage report that covers the period", gate.ErrNoData)
	}
	if err != nil {
		return nil, &csvError{Line: 1, Err: fmt.Errorf("unreadable header: %w", err)}
	}
	c := &usageColumns{col: map[string]int{}, amountCol: "gross_amount"}
	for i, h := range header {
		c.col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	var missing []string
	for _, name := range requiredColumns {
		if _, ok := c.col[name]; !ok {
			missing = append(missing, name)
		}
	}
	if basis == Net {
		c.amountCol = "net_amount"
	}
	_, c.hasAmount = c.col[c.amountCol]
	_, hasRate := c.col["applied_cost_per_quantity"]
	if !c.hasAmount && !hasRate {
		missing = append(missing, c.amountCol+" or applied_cost_per_quantity")
	}
	if len(missing) > 0 {
		return nil, &csvError{Line: 1, Err: fmt.Errorf("header lacks %s; expected a GitHub usage report export (date,product,sku,quantity,unit_type,...)", strings.Join(missing, ", "))}
	}
	return c, nil
}

// field is the trimmed value of the named column in rec, empty when the
// header lacks it or the row is short.
func (c *usageColumns) field(rec []string, name string) string {
	if i, ok := c.col[name]; ok && i < len(rec) {
		return strings.TrimSpace(rec[i])
	}
	return ""
}

// row parses one Actions minute row at line. Every problem goes to bad;
// ok is false when there was one. daily says whether the row's date is a
// calendar day.
func (c *usageColumns) row(rec []string, line int, bad func(line int, column string, format string, args ...any)) (r Record, daily, ok bool) {
	t, daily, err := parseUsageDate(c.field(rec, "date"))
	if err != nil {
		bad(line, "date", "%v", err)
	}
	q, qerr := parseAmount(c.field(rec, "quantity"))
	if qerr != nil {
		bad(line, "quantity", "%v", qerr)
	}
	var usd float64
	var uerr error
	if c.hasAmount {
		usd, uerr = parseAmount(c.field(rec, c.amountCol))
		if uerr != nil {
			bad(line, c.amountCol, "%v", uerr)
		}
	} else {
		rate, rerr := parseAmount(c.field(rec, "applied_cost_per_quantity"))
		if rerr != nil {
			bad(line, "applied_cost_per_quantity", "%v", rerr)
		}
		usd, uerr = q*rate, rerr
		if uerr == nil && qerr == nil && math.IsInf(usd, 0) {
			uerr = fmt.Errorf("quantity × applied_cost_per_quantity overflows")
			bad(line, "applied_cost_per_quantity", "%v", uerr)
		}
	}
	sku := NormalizeSKU(c.field(rec, "sku"))
	if sku == "" {
		bad(line, "sku", "empty; expected a billing SKU such as actions_linux")
	}
	repo := c.field(rec, "repository")
	if repo == "" {
		bad(line, "repository", "empty; usage without a repository cannot be assigned to a tenant")
	}
	if err != nil || qerr != nil || uerr != nil || sku == "" || repo == "" {
		return Record{}, daily, false
	}
	return Record{Time: t, Org: c.field(rec, "organization"), Repo: repo,
		Workflow: c.field(rec, "workflow_path"), SKU: sku, Minutes: q, USD: usd}, daily, true
}

// parseUsageDate accepts the export's calendar date ("2026-11-03") and, for
// hourly exports and the REST API, RFC 3339 timestamps.
func parseUsageDate(s string) (time.Time, bool, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("%q is not a date; expected YYYY-MM-DD or an RFC 3339 timestamp", s)
}

// parseAmount parses a finite, non-negative number; a leading "$" is
// tolerated because spreadsheets add it.
func parseAmount(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimPrefix(s, "$"), 64)
	switch {
	case err != nil:
		return 0, fmt.Errorf("%q is not a number", s)
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, fmt.Errorf("%q is not a finite number", s)
	case v < 0:
		return 0, fmt.Errorf("%q is negative; usage cannot be", s)
	}
	return v, nil
}

// writeUsageCSV writes records in the usage report's column layout with
// RFC 3339 hourly dates, so job-derived usage can be saved and read back by
// ReadUsageCSV (for example as forecasting history).
func writeUsageCSV(w io.Writer, recs []Record) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"date", "product", "sku", "quantity", "unit_type", "applied_cost_per_quantity",
		"gross_amount", "discount_amount", "net_amount", "username", "organization", "repository", "workflow_path", "cost_center_name"})
	for _, r := range recs {
		rate := 0.0
		if r.Minutes > 0 {
			rate = r.USD / r.Minutes
		}
		f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
		sku := r.SKU
		if sku == "linux" || sku == "windows" || sku == "macos" {
			sku = "actions_" + sku // standard runners' SKUs carry the product prefix
		}
		_ = cw.Write([]string{r.Time.UTC().Format(time.RFC3339), "actions", sku, f(r.Minutes), "minutes",
			f(rate), f(r.USD), "0", f(r.USD), "", r.Org, r.Repo, r.Workflow, ""})
	}
	cw.Flush()
	return cw.Error()
}
