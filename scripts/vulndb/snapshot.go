//go:build ignore

// snapshot.go writes a small Go vulnerability database in govulncheck's
// v1 layout (index/db.json, index/modules.json, ID/<id>.json) from OSV
// entries of golang.org/x/vulndb's data/osv, so govulncheck runs offline
// with -db file://DIR. It keeps the entries that name a module of the
// given list (and "stdlib" entries by id), unchanged.
//
//	go run scripts/vulndb/snapshot.go -osv VULNDB/data/osv -out testdata/vulndb \
//	    -modules "$(go list -m -f '{{if not .Indirect}}{{.Path}}{{end}}' all)" -ids GO-2024-2687,...
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

type osv struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Package struct {
			Name string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Events []struct {
				Fixed string `json:"fixed"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	src := flag.String("osv", "", "golang.org/x/vulndb's data/osv directory")
	out := flag.String("out", "testdata/vulndb", "output directory")
	modList := flag.String("modules", "", "module paths (white-space separated) whose entries to keep")
	idList := flag.String("ids", "", "further entry ids to keep (comma separated)")
	modified := flag.String("modified", "", "the database's modified time (RFC 3339): the snapshot's date, since data/osv leaves entries' times zero")
	flag.Parse()
	mods := strings.Fields(*modList)
	ids := strings.Split(*idList, ",")
	files, err := filepath.Glob(filepath.Join(*src, "*.json"))
	if err != nil || len(files) == 0 {
		log.Fatalf("no OSV entries in %q: %v", *src, err)
	}
	index := map[string]*moduleMeta{}
	var latest time.Time
	if err := os.MkdirAll(filepath.Join(*out, "ID"), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(*out, "index"), 0o755); err != nil {
		log.Fatal(err)
	}
	kept := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			log.Fatal(err)
		}
		var e osv
		if err := json.Unmarshal(b, &e); err != nil {
			log.Fatalf("%s: %v", f, err)
		}
		keep := slices.Contains(ids, e.ID)
		for _, a := range e.Affected {
			keep = keep || slices.Contains(mods, a.Package.Name)
		}
		if !keep {
			continue
		}
		kept++
		if err := os.WriteFile(filepath.Join(*out, "ID", e.ID+".json"), b, 0o644); err != nil {
			log.Fatal(err)
		}
		if e.Modified.After(latest) {
			latest = e.Modified
		}
		for _, a := range e.Affected {
			m := index[a.Package.Name]
			if m == nil {
				m = &moduleMeta{Path: a.Package.Name}
				index[a.Package.Name] = m
			}
			v := moduleVuln{ID: e.ID, Modified: e.Modified}
			for _, r := range a.Ranges {
				for _, ev := range r.Events {
					if ev.Fixed != "" {
						v.Fixed = ev.Fixed
					}
				}
			}
			if !slices.ContainsFunc(m.Vulns, func(x moduleVuln) bool { return x.ID == v.ID }) {
				m.Vulns = append(m.Vulns, v)
			}
		}
	}
	var metas []*moduleMeta
	for _, m := range index {
		sort.Slice(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		metas = append(metas, m)
	}
	sort.Slice(metas, func(i, j int) bool { return metas[i].Path < metas[j].Path })
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*out, "index", name), b, 0o644); err != nil {
			log.Fatal(err)
		}
	}
	write("modules.json", metas)
	if *modified != "" {
		t, err := time.Parse(time.RFC3339, *modified)
		if err != nil {
			log.Fatalf("-modified: %v", err)
		}
		if t.After(latest) {
			latest = t
		}
	}
	write("db.json", map[string]time.Time{"modified": latest})
	fmt.Printf("%d entries, %d modules, modified %s\n", kept, len(metas), latest.Format(time.RFC3339))
}
