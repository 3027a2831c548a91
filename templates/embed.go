// Package templates embeds the html/template files: pages at the top level,
// shared pieces under partials/.
package templates

import "embed"

// FS holds every template file.
//
//go:embed *.html partials/*.html
var FS embed.FS
