package saml

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestCrewjamGlobalsNeverAssigned: crewjam/saml's package variables are
// shared by every ServiceProvider in the process, so no Go file of this
// module (tests included: the broker hands its clock to crewjam per
// request) assigns, increments or takes the address of one.
func TestCrewjamGlobalsNeverAssigned(t *testing.T) {
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != ".." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		name := crewjamImportName(f)
		if name == "" {
			return nil
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			var targets []ast.Expr
			switch n := n.(type) {
			case *ast.AssignStmt:
				targets = n.Lhs
			case *ast.IncDecStmt:
				targets = []ast.Expr{n.X}
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					targets = []ast.Expr{n.X}
				}
			}
			for _, e := range targets {
				if sel, ok := e.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok && id.Name == name && isVar(sel.Sel.Name) {
						t.Errorf("%s: assigns crewjam's package variable %s.%s", fset.Position(sel.Pos()), name, sel.Sel.Name)
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked == 0 {
		t.Fatal("no file imports crewjam/saml: the walk is wrong")
	}
}

// crewjamImportName is the name file f imports github.com/crewjam/saml
// under, "" when it does not.
func crewjamImportName(f *ast.File) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == "github.com/crewjam/saml" {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return "saml"
		}
	}
	return ""
}

// isVar reports whether name is one of crewjam/saml's package variables.
func isVar(name string) bool {
	switch name {
	case "TimeNow", "Clock", "MaxClockSkew", "MaxIssueDelay", "MaxArtifactResponseSize", "RandReader",
		"LogoutStateLifetime", "BackChannelLogoutTimeout", "StatusSuccess":
		return true
	}
	return false
}
