package markup

import (
	"regexp"
	"sync"

	"github.com/microcosm-cc/bluemonday"
)

// Attribute value patterns. bluemonday matches them against the entity-decoded
// value, so encoded tricks like "java&#x09;script:" cannot slip past them.
var (
	codeLanguage = regexp.MustCompile(`^language-[a-zA-Z0-9_+-]+$`)
	listStart    = regexp.MustCompile(`^[0-9]{1,9}$`)
	cellAlign    = regexp.MustCompile(`^(left|center|right)$`)
	dimension    = regexp.MustCompile(`^[0-9]{1,4}$`)
	blankTarget  = regexp.MustCompile(`^_blank$`)
	checkbox     = regexp.MustCompile(`^checkbox$`)
	mentionClass = regexp.MustCompile(`^mention$`)
	// Images must come over TLS so they never trigger mixed-content warnings.
	httpsURL = regexp.MustCompile(`(?i)^https://`)
	// Embeds are limited to exact player hosts and paths with a conservative
	// id and query charset; anything else (look-alike hosts, http, userinfo,
	// other paths) fails the whole match.
	embedURL = regexp.MustCompile(`^https://(?:(?:www\.youtube\.com|www\.youtube-nocookie\.com)/embed/[A-Za-z0-9_-]{1,64}|player\.vimeo\.com/video/[0-9]{1,20})(?:\?[A-Za-z0-9_.=&%-]*)?$`)
)

// postPolicy is built once: bluemonday policies are safe for concurrent use
// once constructed but must not be modified afterwards.
var postPolicy = sync.OnceValue(func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()

	p.AllowElements(
		"h1", "h2", "h3", "h4", "h5", "h6",
		"p", "br", "hr", "blockquote", "pre",
		"strong", "b", "em", "i", "sub", "sup", "small", "strike", "del", "s",
		"table", "thead", "tbody", "tfoot", "tr", "th", "td",
		"ul", "ol", "li", "code",
	)
	p.AllowAttrs("class").Matching(codeLanguage).OnElements("code")
	p.AllowAttrs("start").Matching(listStart).OnElements("ol")
	p.AllowAttrs("align").Matching(cellAlign).OnElements("th", "td")

	// URL schemes apply to every URL attribute (a href, img src, iframe src);
	// img and iframe narrow them further with their own src patterns.
	p.AllowURLSchemes("http", "https", "mailto")
	p.AllowRelativeURLs(true)

	// rel is deliberately not allowed from input: Render sets it on every link.
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("target").Matching(blankTarget).OnElements("a")
	// Only RenderMentions' class; tidy drops it from links that are not mentions.
	p.AllowAttrs("class").Matching(mentionClass).OnElements("a")

	p.AllowAttrs("src").Matching(httpsURL).OnElements("img")
	p.AllowAttrs("alt", "title").OnElements("img")

	p.AllowAttrs("src").Matching(embedURL).OnElements("iframe")
	p.AllowAttrs("allowfullscreen").OnElements("iframe")

	p.AllowAttrs("width", "height").Matching(dimension).OnElements("img", "iframe")

	// Task list items render as <input checked disabled type="checkbox">.
	p.AllowAttrs("type").Matching(checkbox).OnElements("input")
	p.AllowAttrs("checked", "disabled").OnElements("input")

	return p
})

// Policy returns the product's bluemonday policy for user posts. It is built
// once and is safe for concurrent use; callers must not modify it.
//
// The policy alone does not add rel="nofollow ugc noopener" to links or drop
// elements left without their required attribute; use [Render] for that.
func Policy() *bluemonday.Policy { return postPolicy() }
