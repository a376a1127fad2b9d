package all

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchitectureNamesEveryPackage keeps docs/architecture.md true: every
// package under internal/ is named in its package table.
func TestArchitectureNamesEveryPackage(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	root := "../.."
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || d.Name() == "testdata" {
			if d != nil && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return err
		}
		goFiles, _ := filepath.Glob(filepath.Join(path, "*.go"))
		if len(goFiles) == 0 {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		name := "internal/" + filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		short := filepath.Base(rel)
		if !strings.Contains(string(doc), "`"+name+"`") && !strings.Contains(string(doc), "`"+short+"`") {
			t.Errorf("docs/architecture.md does not name package %s; add it to the package table", name)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
