package app_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	pathpkg "path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The web layer never touches the database: handlers reach the domain
// through services (services.Set), whose packages own every query. These
// tests read app/'s source (not its tests) and fail on any way a handler
// could get at the database:
//
//   - importing a database package (forbiddenImports), without which no
//     file can name bun.DB, bun.IDB, bun.Tx or sql.DB;
//   - calling a function of a domain package that takes a database handle
//     (models.PostByID(ctx, db, …), moderation.Record(ctx, tx, …),
//     forum.New(db, …)…), found by reading those packages' source;
//   - reading an exported handle field of a domain type, which needs no
//     import at all (s.Forum.DB would be a *bun.DB in a file that never
//     names bun). The services keep their handles unexported, so the
//     compiler refuses that today; this check keeps it so.

// forbiddenImports are the packages app/ may not import, each with why.
var forbiddenImports = []struct{ path, why string }{
	{"github.com/uptrace/bun", "bun is the ORM; queries live in the domain packages and models"},
	{"database/sql", "database/sql is the raw database handle"},
	{"agora/database", "agora/database opens and migrates the database; cli/ wires it into services.New"},
}

const layerRule = "handlers reach the domain through services (services.Set), never the database"

// forbiddenImport reports why path may not be imported by app/, or "".
func forbiddenImport(path string) string {
	for _, f := range forbiddenImports {
		if path == f.path || strings.HasPrefix(path, f.path+"/") {
			return f.why
		}
	}
	return ""
}

// handleRules are what app/ may not use from the domain packages it imports:
// functions that take or return a database handle, keyed "agora/pkg.Func",
// and exported struct fields holding one, keyed by field name. Each value
// says where it is declared.
type handleRules struct {
	funcs  map[string]string
	fields map[string]string
}

// addField records that a struct declared at where has a handle field name.
func (r handleRules) addField(name, where string) {
	if prev := r.fields[name]; prev != "" {
		where = prev + ", " + where
	}
	r.fields[name] = where
}

// isHandleType reports whether e names a database handle: bun.DB, bun.IDB,
// bun.Tx, bun.Conn, sql.DB, sql.Tx or sql.Conn (through a pointer or not),
// where bun and sql are the file's names for those imports.
func isHandleType(e ast.Expr, bunName, sqlName string) bool {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return false
	}
	switch {
	case bunName != "" && pkg.Name == bunName:
		return slices.Contains([]string{"DB", "IDB", "Tx", "Conn"}, sel.Sel.Name)
	case sqlName != "" && pkg.Name == sqlName:
		return slices.Contains([]string{"DB", "Tx", "Conn"}, sel.Sel.Name)
	}
	return false
}

// importNames maps each import path of f to the name the file uses for it.
func importNames(f *ast.File) map[string]string {
	names := map[string]string{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := pathpkg.Base(path)
		if v := strings.TrimPrefix(name, "v"); v != name && v != "" && strings.Trim(v, "0123456789") == "" {
			name = pathpkg.Base(pathpkg.Dir(path)) // a major version: github.com/gofiber/fiber/v2 is fiber
		}
		if imp.Name != nil {
			name = imp.Name.Name
		}
		names[path] = name
	}
	return names
}

func hasHandle(fields *ast.FieldList, bunName, sqlName string) bool {
	if fields == nil {
		return false
	}
	for _, f := range fields.List {
		if isHandleType(f.Type, bunName, sqlName) {
			return true
		}
	}
	return false
}

// collectHandleRules reads the non-test source of package importPath in dir.
func collectHandleRules(t *testing.T, r handleRules, importPath, dir string) {
	t.Helper()
	fset := token.NewFileSet()
	for _, name := range goSources(t, dir) {
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		names := importNames(f)
		bunName, sqlName := names["github.com/uptrace/bun"], names["database/sql"]
		if bunName == "" && sqlName == "" {
			continue
		}
		where := filepath.ToSlash(filepath.Join(filepath.Base(dir), name))
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv != nil || !d.Name.IsExported() {
					continue
				}
				if hasHandle(d.Type.Params, bunName, sqlName) || hasHandle(d.Type.Results, bunName, sqlName) {
					r.funcs[importPath+"."+d.Name.Name] = where
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					ts, ok := spec.(*ast.TypeSpec)
					if !ok {
						continue
					}
					st, ok := ts.Type.(*ast.StructType)
					if !ok {
						continue
					}
					for _, fld := range st.Fields.List {
						if !isHandleType(fld.Type, bunName, sqlName) {
							continue
						}
						for _, n := range fld.Names {
							if n.IsExported() {
								r.addField(n.Name, where+" ("+ts.Name.Name+"."+n.Name+")")
							}
						}
						if len(fld.Names) == 0 { // embedded: the field is named after its type
							e := fld.Type
							if s, ok := e.(*ast.StarExpr); ok {
								e = s.X
							}
							n := e.(*ast.SelectorExpr).Sel.Name
							r.addField(n, where+" ("+ts.Name.Name+" embeds "+n+")")
						}
					}
				}
			}
		}
	}
}

// goSources lists the non-test .go files of dir.
func goSources(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			out = append(out, n)
		}
	}
	return out
}

// layerViolations lists how the app/ file f (named name) reaches the database.
func layerViolations(name string, f *ast.File, r handleRules) []string {
	var out []string
	names := importNames(f)
	pkgs := map[string]string{} // local name → import path
	for path, local := range names {
		if why := forbiddenImport(path); why != "" {
			out = append(out, name+" imports "+strconv.Quote(path)+": "+why+"; "+layerRule)
		}
		pkgs[local] = path
	}
	ast.Inspect(f, func(n ast.Node) bool {
		sel, ok := n.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if id, ok := sel.X.(*ast.Ident); ok {
			if path, ok := pkgs[id.Name]; ok {
				if where, bad := r.funcs[path+"."+sel.Sel.Name]; bad {
					out = append(out, name+" uses "+id.Name+"."+sel.Sel.Name+" ("+where+"), which takes or returns a database handle; "+layerRule)
				}
				return true
			}
		}
		if where, bad := r.fields[sel.Sel.Name]; bad {
			out = append(out, name+" reads ."+sel.Sel.Name+", a database handle field of "+where+"; "+layerRule)
		}
		return true
	})
	return out
}

// appHandleRules reads the domain packages app/ imports.
func appHandleRules(t *testing.T, files map[string]*ast.File) handleRules {
	t.Helper()
	r := handleRules{funcs: map[string]string{}, fields: map[string]string{}}
	var paths []string
	for _, f := range files {
		for path := range importNames(f) {
			if strings.HasPrefix(path, "agora/") && !slices.Contains(paths, path) {
				paths = append(paths, path)
			}
		}
	}
	slices.Sort(paths)
	for _, path := range paths {
		collectHandleRules(t, r, path, filepath.Join("..", strings.TrimPrefix(path, "agora/")))
	}
	return r
}

func TestImportsKeepHandlersOffTheDatabase(t *testing.T) {
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	for _, name := range goSources(t, ".") {
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		files["app/"+name] = f
	}
	if len(files) < 10 {
		t.Fatalf("found %d source files in app/, expected the package's (is the test running in app/?)", len(files))
	}
	r := appHandleRules(t, files)
	// The rules must have found what they guard against, or they guard nothing.
	for _, want := range []string{"agora/models.PostByID", "agora/models.GetSetting", "agora/forum.New", "agora/moderation.Record"} {
		if _, ok := r.funcs[want]; !ok {
			t.Errorf("no rule for %s: the scan of the domain packages missed the functions that take a database handle", want)
		}
	}
	if _, ok := r.fields["DB"]; !ok {
		t.Error("no rule for the services' DB field: the scan of the domain packages missed it")
	}
	t.Logf("guarding %d functions and %d fields that hold a database handle", len(r.funcs), len(r.fields))

	var names []string
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		for _, v := range layerViolations(name, files[name], r) {
			t.Error(v)
		}
	}
}

// The checker itself catches each way in, so the test above cannot pass by
// looking at nothing.
func TestImportsCheckerCatchesEachWayIn(t *testing.T) {
	const src = `package app

import (
	"database/sql"
	"database/sql/driver"

	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"agora/database"
	m "agora/models"
)

var _ sql.DB
var _ driver.Value
var _ pgdialect.Dialect
var _ = database.Open

func (s *server) handler(c *fiber.Ctx) error {
	var db *bun.DB
	_, _ = m.PostByID(c.UserContext(), s.Forum.DB, 1)
	_ = m.IsNotFound(nil) // no handle: allowed
	_ = s.Moderation.DB
	_ = db
	return nil
}
`
	f, err := parser.ParseFile(token.NewFileSet(), "app/bad.go", src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatal(err)
	}
	r := handleRules{
		funcs:  map[string]string{"agora/models.PostByID": "models/post.go"},
		fields: map[string]string{"DB": "forum/forum.go (Service.DB)"},
	}
	got := strings.Join(layerViolations("app/bad.go", f, r), "\n")
	for _, want := range []string{
		`app/bad.go imports "database/sql"`, `app/bad.go imports "database/sql/driver"`,
		`app/bad.go imports "github.com/uptrace/bun"`, `app/bad.go imports "github.com/uptrace/bun/dialect/pgdialect"`,
		`app/bad.go imports "agora/database"`,
		"app/bad.go uses m.PostByID (models/post.go)",
		"app/bad.go reads .DB, a database handle field of forum/forum.go (Service.DB)",
		layerRule,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("violations do not mention %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "IsNotFound") || strings.Contains(got, `"agora/models"`) {
		t.Errorf("flagged an allowed use of agora/models:\n%s", got)
	}
	if n := strings.Count(got, "reads .DB"); n != 2 {
		t.Errorf("%d reads of .DB flagged, want 2:\n%s", n, got)
	}
}
