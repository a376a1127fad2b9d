package all

import (
	"go/ast"
	"go/parser"
	"go/token"
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

// TestRunnerOwnsTheVerdictLayering keeps the layering docs/architecture.md
// describes checkable: the runner folds and stamps every Result, so no gate
// package calls Result.Fold, and internal/cli neither folds, stamps a
// Result's timings nor defines a gate of its own — every command that
// evaluates gates hands them to gate.Runner.
func TestRunnerOwnsTheVerdictLayering(t *testing.T) {
	t.Parallel()
	for _, dir := range goDirs(t, "..") {
		kind := filepath.Base(dir)
		if kind == "all" {
			continue
		}
		for _, f := range parseDir(t, dir) {
			for _, at := range calls(f.fset, f.file, "Fold") {
				t.Errorf("%s: gate package %s calls Fold; the runner folds every Result — word the summary from gate.Folded(checks)", at, kind)
			}
		}
	}
	for _, f := range parseDir(t, "../../cli") {
		for _, at := range calls(f.fset, f.file, "Fold") {
			t.Errorf("%s: internal/cli calls Fold; hand the gate to gate.Runner, which folds", at)
		}
		ast.Inspect(f.file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, l := range n.Lhs {
					if sel, ok := l.(*ast.SelectorExpr); ok && sel.Sel.Name == "DurationMS" {
						t.Errorf("%s: internal/cli stamps a Result's timings; gate.Runner stamps them", f.fset.Position(n.Pos()))
					}
				}
			case *ast.FuncDecl:
				if recv := receiverType(n); n.Name.Name == "Run" && recv != "" && returnsResult(n) {
					t.Errorf("%s: internal/cli defines a gate (%s.Run returns *gate.Result); gates live in internal/gates/<kind>", f.fset.Position(n.Pos()), recv)
				}
			}
			return true
		})
	}
}

// maxFuncLines bounds a non-test function: past it, split along the steps
// its comments name.
const maxFuncLines = 100

// TestNoLongFunctions keeps every non-test function under internal/ and
// cmd/ within maxFuncLines lines.
func TestNoLongFunctions(t *testing.T) {
	t.Parallel()
	repo, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{"../..", "../../../cmd"} {
		for _, f := range parseDir(t, root) {
			dir, err := filepath.Abs(filepath.Dir(f.fset.Position(f.file.Pos()).Filename))
			if err != nil {
				t.Fatal(err)
			}
			rel, err := filepath.Rel(repo, dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.file.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				n := f.fset.Position(fd.End()).Line - f.fset.Position(fd.Pos()).Line + 1
				if key := filepath.ToSlash(rel) + "." + fd.Name.Name; n > maxFuncLines {
					t.Errorf("%s: %s is %d lines; split it along its steps to at most %d", f.fset.Position(fd.Pos()), key, n, maxFuncLines)
				}
			}
		}
	}
}

type parsedFile struct {
	fset *token.FileSet
	file *ast.File
}

// goDirs lists the directories directly under root that hold Go files.
func goDirs(t *testing.T, root string) []string {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for _, e := range entries {
		if e.IsDir() {
			if m, _ := filepath.Glob(filepath.Join(root, e.Name(), "*.go")); len(m) > 0 {
				dirs = append(dirs, filepath.Join(root, e.Name()))
			}
		}
	}
	if len(dirs) == 0 {
		t.Fatalf("no Go packages under %s", root)
	}
	return dirs
}

// parseDir parses the non-test Go files of dir and its subdirectories.
func parseDir(t *testing.T, dir string) []parsedFile {
	t.Helper()
	var out []parsedFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		out = append(out, parsedFile{fset, f})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("no Go files in %s", dir)
	}
	return out
}

// calls returns the positions of every call of a method or function named
// name (x.name(…)).
func calls(fset *token.FileSet, f *ast.File, name string) []token.Position {
	var at []token.Position
	ast.Inspect(f, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == name {
				at = append(at, fset.Position(c.Pos()))
			}
		}
		return true
	})
	return at
}

// receiverType is the name of a method's receiver type, "" for a function.
func receiverType(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return ""
	}
	x := fd.Recv.List[0].Type
	if s, ok := x.(*ast.StarExpr); ok {
		x = s.X
	}
	if id, ok := x.(*ast.Ident); ok {
		return id.Name
	}
	return "?"
}

// returnsResult reports whether fd returns (*gate.Result, error).
func returnsResult(fd *ast.FuncDecl) bool {
	r := fd.Type.Results
	if r == nil || len(r.List) != 2 {
		return false
	}
	s, ok := r.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	sel, ok := s.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Result"
}

// maxCLIFuncLines bounds a function in internal/cli: a command parses its
// flags, calls one function and prints, which takes well under 60 lines.
const maxCLIFuncLines = 60

// cliPendingLong are the functions of internal/cli still over
// maxCLIFuncLines, by name. It is empty and must stay so: only functions
// of cmd_ledger*.go and cmd_slo.go could be listed, and they are split.
var cliPendingLong = map[string]bool{}

// mergeRules are the calls that combine results into a verdict; they
// belong to internal/gate and internal/release, never to the CLI.
var mergeRules = []string{"Fold", "Merge", "Worse", "Worst", "Verdict"}

// TestCLIIsThin keeps internal/cli what docs/architecture.md says it is:
// commands parse flags, call one function and print. No file in it
// defines a gate (see TestRunnerOwnsTheVerdictLayering), a merge rule (a
// call of mergeRules) or a network client (the net package, an HTTP
// request, client or transport of its own); no function in it is over
// maxCLIFuncLines lines.
func TestCLIIsThin(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, f := range parseDir(t, "../../cli") {
		file := filepath.Base(f.fset.Position(f.file.Pos()).Filename)
		for _, name := range mergeRules {
			for _, at := range calls(f.fset, f.file, name) {
				t.Errorf("%s: internal/cli calls %s, a merge rule; combine results in internal/release or internal/gate", at, name)
			}
		}
		for _, at := range networkClients(f.fset, f.file) {
			t.Errorf("%s; clients live in the adapters (internal/actions, internal/promexport, the gates), the CLI hands them a redact.NewClient", at)
		}
		pendingFile := strings.HasPrefix(file, "cmd_ledger") || file == "cmd_slo.go"
		for _, d := range f.file.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n := f.fset.Position(fd.End()).Line - f.fset.Position(fd.Pos()).Line + 1
			switch {
			case n <= maxCLIFuncLines:
			case cliPendingLong[fd.Name.Name] && pendingFile:
				seen[fd.Name.Name] = true
			default:
				t.Errorf("%s: %s is %d lines; a command parses flags, calls one function and prints: split it to at most %d", f.fset.Position(fd.Pos()), fd.Name.Name, n, maxCLIFuncLines)
			}
		}
	}
	for name := range cliPendingLong {
		if !seen[name] {
			t.Errorf("cliPendingLong lists %s, which is no longer over %d lines (or not in cmd_ledger*.go / cmd_slo.go); delete the entry", name, maxCLIFuncLines)
		}
	}
}

// networkClients returns where f imports net, builds an HTTP request or
// declares an http.Client or http.Transport of its own.
func networkClients(fset *token.FileSet, f *ast.File) []string {
	var at []string
	for _, imp := range f.Imports {
		if imp.Path.Value == `"net"` {
			at = append(at, fset.Position(imp.Pos()).String()+": internal/cli imports net")
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok && isPkg(sel.X, "http") {
				switch sel.Sel.Name {
				case "NewRequest", "NewRequestWithContext", "Get", "Post", "PostForm", "Head":
					at = append(at, fset.Position(n.Pos()).String()+": internal/cli calls http."+sel.Sel.Name)
				}
			}
		case *ast.CompositeLit:
			if sel, ok := n.Type.(*ast.SelectorExpr); ok && isPkg(sel.X, "http") && (sel.Sel.Name == "Client" || sel.Sel.Name == "Transport") {
				at = append(at, fset.Position(n.Pos()).String()+": internal/cli builds an http."+sel.Sel.Name)
			}
		}
		return true
	})
	return at
}

func isPkg(x ast.Expr, name string) bool {
	id, ok := x.(*ast.Ident)
	return ok && id.Name == name
}
