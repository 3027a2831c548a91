package moderation

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"agora/models"
)

// Reason is why a moderator acted: the guideline broken (a code of
// Guidelines, or empty) and the moderator's own words (Note). Members read
// it as Text, readers of a removed post only as Public.
//
// In JSON it is {"guideline": "spam", "note": "the same link five times"}.
// A plain string is read too, as earlier clients send it: a guideline code
// ("spam"), a code and a note ("spam: the same link five times"), or a note.
type Reason struct {
	Guideline string `json:"guideline,omitempty"`
	Note      string `json:"note,omitempty"`
}

// UnmarshalJSON reads the object or the plain string form.
func (r *Reason) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*r = ParseReason(s)
		return nil
	}
	type plain Reason // without this method
	return json.Unmarshal(b, (*plain)(r))
}

// ParseReason reads the plain string form of a reason (see Reason).
func ParseReason(s string) Reason {
	code, rest, _ := strings.Cut(s, ":")
	if _, ok := GuidelineByCode(strings.TrimSpace(code)); ok {
		return Reason{Guideline: strings.TrimSpace(code), Note: strings.TrimSpace(rest)}
	}
	return Reason{Note: strings.TrimSpace(s)}
}

// Why a reason is required, for the field's error.
const (
	whyBroken   = "say which guideline was broken, or why"
	whyOptional = ""
)

// clean trims the note and checks the guideline and the length; field
// names the input in errors. An empty reason is refused with required,
// unless required is whyOptional.
func (r Reason) clean(field, required string) (Reason, error) {
	r.Guideline, r.Note = strings.TrimSpace(r.Guideline), strings.TrimSpace(r.Note)
	v := &models.ValidationError{}
	if _, ok := GuidelineByCode(r.Guideline); r.Guideline != "" && !ok {
		v.Add(field, "choose a guideline from the community guidelines")
	}
	if r.Empty() && required != whyOptional {
		v.Add(field, required)
	}
	if utf8.RuneCountInString(r.Note) > 500 {
		v.Add(field, "keep the reason under 500 characters")
	}
	return r, v.Err()
}

// Empty reports whether no guideline and no note were given.
func (r Reason) Empty() bool { return r.Guideline == "" && r.Note == "" }

// Text is the reason as the member concerned reads it: the guideline's
// title and the note.
func (r Reason) Text() string {
	g, ok := GuidelineByCode(r.Guideline)
	switch {
	case !ok:
		return r.Note
	case r.Note == "":
		return g.Title
	}
	return g.Title + ": " + r.Note
}

// Public is what every reader of a removed post sees: the guideline's
// title, never the moderator's own words unless no guideline was named.
func (r Reason) Public() string {
	if g, ok := GuidelineByCode(r.Guideline); ok {
		return g.Title
	}
	return r.Note
}
