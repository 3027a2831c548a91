package seed

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The synthetic forum talks about Tasklane, the same product as the demo.
// Every topic is about one subject, a noun phrase that its title, question
// and replies repeat, so searching a realistic two-word query ("export csv",
// "webhook timeout", "billing invoice") finds whole threads.

// subject is what a synthetic topic is about; cat indexes defaultCategories.
type subject struct {
	phrase string
	cat    int
}

var subjects = []subject{
	{"workspace setup", 0}, {"invite teammates", 0}, {"project templates", 0}, {"guest access", 0},
	{"onboarding checklist", 0}, {"keyboard shortcuts", 0}, {"trello import", 0},
	{"recurring tasks", 1}, {"due dates", 1}, {"gantt chart", 1}, {"time tracking", 1},
	{"custom fields", 1}, {"subtask dependencies", 1}, {"kanban swimlanes", 1}, {"search filters", 1},
	{"email notifications", 1}, {"mobile app sync", 1}, {"file attachments", 1}, {"timezone settings", 1},
	{"export csv", 1}, {"billing invoice", 1}, {"seat license", 1}, {"sso login", 1},
	{"two-factor authentication", 1}, {"workload view", 1}, {"dashboard reports", 1},
	{"webhook timeout", 2}, {"api rate limit", 2}, {"oauth token", 2}, {"slack notifications", 2},
	{"github integration", 2}, {"zapier zap", 2}, {"calendar sync", 2}, {"jira import", 2},
	{"api pagination", 2}, {"webhook signature", 2},
	{"offline mode", 3}, {"bulk edit", 3}, {"custom roles", 3}, {"audit log", 3},
	{"task templates", 3}, {"dark mode", 3}, {"portfolio view", 3},
	{"release notes", 4}, {"scheduled maintenance", 4},
}

var titleTemplates = []string{
	"%s not working after the latest update",
	"How do I set up %s?",
	"Question about %s on the Business plan",
	"%s keeps failing for our workspace",
	"Best way to handle %s for a large team?",
	"Is %s available in the mobile app?",
	"Trouble with %s since yesterday",
	"%s: what are the limits?",
	"Feature idea: better %s",
	"Any update on %s?",
	"%s behaves differently for guests",
	"Confused by %s in the new UI",
}

var (
	greetings = []string{"Hi all,", "Hello everyone,", "Hey team,", "Hi Tasklane folks,", ""}
	openers   = []string{
		"We ran into a problem with %s; we use Tasklane for %d projects.",
		"Since last week %s stopped behaving the way we expect, across %d boards.",
		"We have a question about %s while rolling Tasklane out to a team of %d.",
		"I've read the help center twice but %s still confuses me (we have %d projects).",
	}
	details = []string{
		"It happens on the %s board but not on the %s board.",
		"The %s view shows the right numbers, the %s export does not.",
		"Our admin checked the %s settings and nothing looks wrong in the %s panel.",
		"It only fails when a %s has more than a few hundred %s items.",
		"Refreshing the %s page fixes it for a while, then the %s goes stale again.",
		"We tried on Chrome and Firefox; the %s and the %s both show the issue.",
	}
	nouns = []string{
		"sprint", "roadmap", "backlog", "milestone", "timeline", "workspace", "project", "label",
		"comment", "report", "invoice", "dashboard", "webhook", "integration", "calendar", "task",
	}
	closings = []string{
		"Any ideas?", "Thanks in advance!", "Is this a known issue?", "Happy to share more details.",
		"What am I missing?", "Would love a workaround until it's fixed.",
	}
	replyOpeners = []string{
		"Have you checked the %s settings under **Workspace → Admin**? That's where it usually goes wrong.",
		"+1, we see the same with %s on our account.",
		"This is covered in the help center: [%s guide](https://help.tasklane.example/articles/%s).",
		"We had the same %s problem last month; support told us it's a known issue.",
		"Thanks, that fixed %s for us!",
		"Not an official answer, but here's how we handle %s in our team.",
		"Could you share a screenshot of the %s screen? Hard to say otherwise.",
		"Moderator here: the team is aware of the %s problem and a fix is in the next release.",
	}
	errorLines = []string{
		"HTTP 504 Gateway Timeout after 30s",
		"HTTP 429 Too Many Requests (retry-after: 60)",
		"HTTP 401 invalid_token",
		"ERROR export job failed: row limit exceeded",
		"WARN delivery retried 3 times, giving up",
	}
)

// title returns a topic title about phrase.
func title(r *rand.Rand, phrase string) string {
	t := titleTemplates[r.IntN(len(titleTemplates))]
	return capitalize(strings.Replace(t, "%s", phrase, 1))
}

// questionBody writes the Markdown of a topic's first post.
func questionBody(r *rand.Rand, phrase string) string {
	var b strings.Builder
	if g := pick(r, greetings); g != "" {
		b.WriteString(g)
		b.WriteString("\n\n")
	}
	b.WriteString(fill(pick(r, openers), phrase, strconv.Itoa(2+r.IntN(40))))
	b.WriteByte(' ')
	writeDetail(r, &b)
	b.WriteString("\n\n")
	switch r.IntN(4) {
	case 0:
		b.WriteString("Steps to reproduce:\n\n1. Open the **")
		b.WriteString(phrase)
		b.WriteString("** settings\n2. Change the ")
		b.WriteString(pick(r, nouns))
		b.WriteString(" filter\n3. Save and reload the page\n\n")
	case 1:
		b.WriteString("The log says:\n\n```\n")
		b.WriteString(pick(r, errorLines))
		b.WriteString("\n```\n\n")
	case 2:
		b.WriteString("Our request looks like this:\n\n```bash\ncurl -H \"Authorization: Bearer $TOKEN\" \\\n  https://api.tasklane.example/v2/")
		b.WriteString(pick(r, nouns))
		b.WriteString("s?limit=100\n```\n\n")
	}
	b.WriteString(pick(r, closings))
	return b.String()
}

// replyBody writes the Markdown of a reply in a thread about phrase.
func replyBody(r *rand.Rand, phrase string) string {
	var b strings.Builder
	b.WriteString(fill(pick(r, replyOpeners), phrase, slugify(phrase)))
	switch r.IntN(5) {
	case 0:
		b.WriteString("\n\nWhat worked for us:\n\n- turn off the ")
		b.WriteString(pick(r, nouns))
		b.WriteString(" sync\n- re-run the ")
		b.WriteString(phrase)
		b.WriteString(" step\n- turn the sync back on")
	case 1:
		b.WriteString("\n\n")
		writeDetail(r, &b)
	case 2:
		b.WriteString("\n\n`")
		b.WriteString(pick(r, errorLines))
		b.WriteString("` is what we got before the fix.")
	}
	return b.String()
}

func writeDetail(r *rand.Rand, b *strings.Builder) {
	b.WriteString(fill(pick(r, details), pick(r, nouns), pick(r, nouns)))
}

// fill replaces the first two verbs (%s or %d) of t with a and then b.
func fill(t, a, b string) string {
	for _, v := range []string{a, b} {
		i := strings.IndexByte(t, '%')
		if i < 0 || i+1 >= len(t) {
			break
		}
		t = t[:i] + v + t[i+2:]
	}
	return t
}

func pick(r *rand.Rand, list []string) string { return list[r.IntN(len(list))] }

func capitalize(s string) string {
	c, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(c)) + s[n:]
}

// slugify makes the URL part of a title: lower-case ASCII letters and digits
// joined by single dashes, at most 80 bytes.
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(c)
		default:
			dash = true
		}
		if b.Len() >= 80 {
			break
		}
	}
	return b.String()
}
