// Package moderation holds the community's rules of enforcement: flag
// reasons from the guidelines, flag weights and auto-hiding, the queue and
// its resolutions, moderator tools, suspensions and the tamper-evident log.
// It takes context and plain values and never imports HTTP code.
package moderation

// Reason is one flag reason, taken from the community guidelines.
type Reason struct {
	Code        string `json:"code"`
	Title       string `json:"title"`
	Description string `json:"description"`
	// Severe reasons go to the top of the queue whatever their weight.
	Severe bool `json:"severe"`
	// NeedsNote: the flagger must explain.
	NeedsNote bool `json:"needs_note"`
}

// Reasons lists every flag reason in the order the flag menu shows them.
var Reasons = []Reason{
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

// ReasonByCode returns the reason with that code.
func ReasonByCode(code string) (Reason, bool) {
	for _, r := range Reasons {
		if r.Code == code {
			return r, true
		}
	}
	return Reason{}, false
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
