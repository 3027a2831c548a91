// Package moderation holds the community's rules of enforcement: flag
// reasons from the guidelines, flag weights and auto-hiding, the queue and
// its resolutions, moderator tools, suspensions and the tamper-evident log.
// It takes context and plain values and never imports HTTP code.
package moderation

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"

	"agora/markup"
	"agora/models"
	"agora/policy"
)

// Guideline is one rule of the community guidelines: what members flag a
// post for and what moderators name when they act.
type Guideline struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Severe reasons go to the top of the queue whatever their weight.
	Severe bool `json:"severe"`
	// NeedsNote: the flagger must explain.
	NeedsNote bool `json:"needs_note"`
}

// Guidelines lists every guideline in the order the flag menu shows them.
var Guidelines = []Guideline{
	{Code: "off_topic", Title: "Off topic", Description: "Not relevant to this discussion or this community."},
	{Code: "spam", Title: "Spam or self-promotion", Description: "Advertises the poster's own services or products."},
	{Code: "confidential", Title: "Confidential information", Description: "Shares information that was not meant to be public."},
	{Code: "violence", Title: "Threat of violence", Description: "Threatens or encourages violence against anyone.", Severe: true},
	{Code: "hate", Title: "Hate speech or discrimination", Description: "Attacks people for who they are."},
	{Code: "harassment", Title: "Trolling, bullying or harassment", Description: "Targets, provokes or intimidates another member."},
	{Code: "impersonation", Title: "Impersonation", Description: "Pretends to be another person, company or staff member."},
	{Code: "privacy", Title: "Doxxing or invasion of privacy", Description: "Exposes phone numbers, private emails, addresses, card or ID numbers, or passwords."},
	{Code: "vulgar", Title: "Vulgar or hostile language", Description: "Obscene, inflammatory or hostile wording."},
	{Code: "graphic", Title: "Gratuitously violent content", Description: "Shows or describes violence for its own sake."},
	{Code: "malware", Title: "Malware or exploit", Description: "Links to or contains active malware or exploits.", Severe: true},
	{Code: "other", Title: "Something else", Description: "Breaks the guidelines in another way; tell the moderators how.", NeedsNote: true},
}

// GuidelineByCode returns the guideline with that code.
func GuidelineByCode(code string) (Guideline, bool) {
	for _, g := range Guidelines {
		if g.Code == code {
			return g, true
		}
	}
	return Guideline{}, false
}

// severeCodes are the codes of the severe guidelines, for the queue's order.
func severeCodes() []string {
	var codes []string
	for _, g := range Guidelines {
		if g.Severe {
			codes = append(codes, g.Code)
		}
	}
	return codes
}

// DefaultGuidelines is the Markdown of the /guidelines page until an admin
// edits it. Paragraphs stay on one line each: single newlines render as breaks.
const DefaultGuidelines = `# Community guidelines

This community is where customers help each other get the most out of the product. A few shared habits keep it useful and welcoming for everyone.

## What we ask of you

- **Be proactive.** Search before you ask, share what you already tried, and come back to mark the answer that solved your problem so the next person finds it.
- **Be respectful.** Disagree with ideas, never with people. Assume good intent.
- **Stay on topic.** Keep threads about the product and the question at hand; start a new topic for a new question.
- **Be empathetic.** Everyone was new once. Answer the way you would like to be answered.

## What is not allowed

- Threats of violence, and gratuitously violent content.
- Hate speech and discrimination of any kind.
- Trolling, bullying and harassment.
- Impersonating another person, company or staff member.
- Doxxing and invasion of privacy: phone numbers, private emails, addresses, card or ID numbers, passwords.
- Vulgar, obscene, inflammatory or hostile language.
- Active malware or exploits.
- Off-topic posts, advertising your own services or products, and sharing confidential information.

## How we enforce them

Any member can flag a post from its menu and choose which guideline it breaks. Moderators review every report. They may edit the content, remove it, and/or suspend the author, with or without prior notice, depending on how serious the violation is. Removed content is kept for review and appeals, and genuine threats may be reported to law enforcement.

Questions about these guidelines? Ask in the community or contact the moderators.
`

// Document is a page admins write in Markdown (the guidelines, the
// privacy policy): stored as a setting, rendered and sanitized once when
// saved (or once per markup policy), every change logged.
type Document struct {
	Name    string // for messages: "the guidelines"
	Key     string // the setting holding the Markdown
	HTMLKey string // the setting holding its rendering, per markup policy
	Default string
	Action  string // the log's action for an edit
}

func document(name, key, htmlKey, def, action string) Document {
	return Document{Name: name, Key: key, HTMLKey: htmlKey + "_v" + strconv.Itoa(markup.Version), Default: def, Action: action}
}

// The documents.
var (
	GuidelinesDoc = document("the guidelines", models.SettingGuidelines, models.SettingGuidelinesHTML, DefaultGuidelines, ActEditGuidelines)
	PrivacyDoc    = document("the privacy policy", models.SettingPrivacy, models.SettingPrivacyHTML, DefaultPrivacy, ActEditPrivacy)
)

// Text returns d's Markdown as last saved (or the default).
func (s *Service) Text(ctx context.Context, d Document) (string, error) {
	return models.GetSetting(ctx, s.db, d.Key, d.Default)
}

// HTML returns the sanitized rendering of d, made when it was saved (or
// once per markup policy), never per request.
func (s *Service) HTML(ctx context.Context, d Document) (string, error) {
	html, err := models.GetSetting(ctx, s.db, d.HTMLKey, "")
	if err != nil || html != "" {
		return html, err
	}
	md, err := s.Text(ctx, d)
	if err != nil {
		return "", err
	}
	html = markup.Render(md)
	return html, models.PutSetting(ctx, s.db, d.HTMLKey, html, s.now())
}

// Update replaces d's Markdown and its rendering and logs the change, in
// one transaction (admins only). Errors: ErrForbidden, *models.ValidationError.
func (s *Service) Update(ctx context.Context, admin *models.User, d Document, body string) error {
	if err := policy.Admin(admin); err != nil {
		return err
	}
	body = strings.ReplaceAll(body, "\r\n", "\n")
	v := &models.ValidationError{}
	switch {
	case strings.TrimSpace(body) == "":
		v.Add("body", "write "+d.Name+"; it cannot be empty")
	case utf8.RuneCountInString(body) > 50000:
		v.Add("body", "keep "+d.Name+" under 50,000 characters")
	}
	if err := v.Err(); err != nil {
		return err
	}
	before, err := s.Text(ctx, d)
	if err != nil {
		return err
	}
	now := s.now()
	html := markup.Render(body)
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := models.PutSetting(ctx, tx, d.Key, body, now); err != nil {
			return err
		}
		if err := models.PutSetting(ctx, tx, d.HTMLKey, html, now); err != nil {
			return err
		}
		_, err := Record(ctx, tx, Entry{ModeratorID: &admin.ID, Action: d.Action, TargetType: TargetSite,
			Details: map[string]any{"before": before, "after": body}}, now)
		return err
	})
}

// ReadGuidelines records that u read the guidelines, the first time only
// (a badge rule); guests and members who read them before cost nothing.
func (s *Service) ReadGuidelines(ctx context.Context, u *models.User) error {
	if u == nil || u.GuidelinesRead != nil {
		return nil
	}
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		first, err := models.MarkGuidelinesRead(ctx, tx, u.ID, s.now())
		if err != nil || !first {
			return err
		}
		return models.React(ctx, s.Events, tx, models.Event{Kind: models.EventGuidelines, Users: []int64{u.ID}})
	})
}
