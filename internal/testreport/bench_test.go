package testreport

import (
	"bytes"
	"fmt"
	"testing"
)

// bigJUnit is a JUnit report of n cases in 100 suites, one in 50 failing
// with a 200-byte stack trace, each with some system-out.
func bigJUnit(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<testsuites>\n")
	trace := bytes.Repeat([]byte("at com.acme.Thing.method(Thing.java:42)\n"), 5)
	for s := 0; s < 100; s++ {
		fmt.Fprintf(&b, "<testsuite name=\"com.acme.Suite%d\" tests=\"%d\">\n", s, n/100)
		for i := 0; i < n/100; i++ {
			fmt.Fprintf(&b, "<testcase classname=\"com.acme.Suite%d\" name=\"test%d\" time=\"0.01\">", s, i)
			if i%50 == 0 {
				fmt.Fprintf(&b, "<failure message=\"expected 1 but was 2\" type=\"AssertionError\">%s</failure>", trace)
			}
			b.WriteString("<system-out>" + string(bytes.Repeat([]byte("log line\n"), 16)) + "</system-out></testcase>\n")
		}
		b.WriteString("</testsuite>\n")
	}
	b.WriteString("</testsuites>\n")
	return b.Bytes()
}

// bigGoTestJSON is go test -json output of n tests in 100 packages.
func bigGoTestJSON(n int) []byte {
	var b bytes.Buffer
	for p := 0; p < 100; p++ {
		for i := 0; i < n/100; i++ {
			fmt.Fprintf(&b, `{"Action":"run","Package":"example.com/p%d","Test":"Test%d"}`+"\n", p, i)
			fmt.Fprintf(&b, `{"Action":"output","Package":"example.com/p%d","Test":"Test%d","Output":"=== RUN   Test%d\n"}`+"\n", p, i, i)
			fmt.Fprintf(&b, `{"Action":"pass","Package":"example.com/p%d","Test":"Test%d","Elapsed":0.01}`+"\n", p, i)
		}
		fmt.Fprintf(&b, `{"Action":"pass","Package":"example.com/p%d","Elapsed":1}`+"\n", p)
	}
	return b.Bytes()
}

// BenchmarkParseJUnit reads a ~50 MB JUnit report of 200,000 cases.
func BenchmarkParseJUnit(b *testing.B) {
	data := bigJUnit(200_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := ParseJUnit(data)
		if err != nil || len(rep.Cases) != 200_000 {
			b.Fatalf("%v, %d cases", err, len(rep.Cases))
		}
	}
}

// BenchmarkParseGoTestJSON reads go test -json output of 200,000 tests.
func BenchmarkParseGoTestJSON(b *testing.B) {
	data := bigGoTestJSON(200_000)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		rep, err := ParseGoTestJSON(data)
		if err != nil || len(rep.Cases) != 200_000 {
			b.Fatalf("%v, %d cases", err, len(rep.Cases))
		}
	}
}
