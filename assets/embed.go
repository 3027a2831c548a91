// Package assets embeds the stylesheet, script and icons and serves them
// under content-hashed names, so browsers may cache them forever.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"path"
	"strings"
)

//go:embed static
var files embed.FS

// File is one asset ready to serve.
type File struct {
	Body        []byte
	ContentType string
}

// Assets maps logical names ("app.css") to hashed URLs and back.
type Assets struct {
	urls   map[string]string // "app.css" → "/assets/app.1a2b3c4d5e.css"
	byPath map[string]File   // "app.1a2b3c4d5e.css" → file
}

// Load reads every embedded asset and computes its hashed URL.
func Load() (*Assets, error) {
	a := &Assets{urls: map[string]string{}, byPath: map[string]File{}}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:5]) + ext
		ctype := mime.TypeByExtension(ext)
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		a.urls[name] = "/assets/" + hashed
		a.byPath[hashed] = File{Body: body, ContentType: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load assets: %w", err)
	}
	return a, nil
}

// URL returns the hashed URL of a logical asset name; it panics on an unknown
// name so a typo in a template fails the first render in tests.
func (a *Assets) URL(name string) string {
	u, ok := a.urls[name]
	if !ok {
		panic("assets: unknown asset " + name)
	}
	return u
}

// Lookup returns the file served at /assets/{hashed}.
func (a *Assets) Lookup(hashed string) (File, bool) {
	f, ok := a.byPath[hashed]
	return f, ok
}
