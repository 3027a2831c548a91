package seed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"agora/accounts"
	"agora/badges"
	"agora/levels"
	"agora/markup"
	"agora/models"
)

// DemoPassword is the password of every demo member.
const DemoPassword = "demo-password"

// Demo writes a small customer community for "Tasklane", a project-management
// product: the default categories, a moderator and seven members, fifteen
// topics with Markdown replies, solved questions, unanswered ones and likes,
// spread over the weeks before now. Every member signs in with DemoPassword
// (emails are username@example.com). Posts are queued in search_outbox like
// posts written through the forum. It runs in one transaction and returns
// ErrNotEmpty, writing nothing, when any category exists.
func Demo(ctx context.Context, db *bun.DB, now time.Time) (Summary, error) {
	start := time.Now()
	now = now.UTC()
	hash, err := hashPassword(DemoPassword)
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	err = db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		sum = Summary{}
		exists, err := tx.NewSelect().Model((*models.Category)(nil)).Exists(ctx)
		if err != nil {
			return fmt.Errorf("check for categories: %w", err)
		}
		if exists {
			return ErrNotEmpty
		}
		return writeDemo(ctx, tx, now, hash, &sum)
	})
	if err == nil {
		err = demoStanding(ctx, db, now)
	}
	if err != nil {
		return Summary{}, err
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// demoStanding computes the demo members' levels from what they did, sets
// demoLocks and grants the badges they earned, as the nightly pass and
// `agora badges backfill` would.
func demoStanding(ctx context.Context, db *bun.DB, now time.Time) error {
	clock := func() time.Time { return now }
	lv := levels.New(db, clock)
	if _, err := lv.Nightly(ctx); err != nil {
		return err
	}
	for _, l := range demoLocks {
		by, err := models.UserByUsername(ctx, db, l.by)
		if err != nil {
			return err
		}
		u, err := models.UserByUsername(ctx, db, l.username)
		if err != nil {
			return err
		}
		if _, err := lv.Lock(ctx, by, u.ID, l.level, l.reason); err != nil {
			return fmt.Errorf("lock %s: %w", l.username, err)
		}
	}
	bs, err := badges.New(ctx, db, clock, badges.Rules)
	if err != nil {
		return err
	}
	_, err = bs.Backfill(ctx, nil)
	return err
}

type demoUser struct {
	username, name, role string
	// visits and reads (topics; each read counts 6 posts) are what the demo
	// members did beyond the posts shown, for the levels computed from them.
	visits, reads int
	company, bio  string
	joined        time.Duration // before now
}

var demoUsers = []demoUser{
	{"nadia.okafor", "Nadia Okafor", models.RoleModerator, 300, 400, "Tasklane",
		"Community manager at Tasklane. Ask me about workspaces, billing and anything in between.", 400 * day},
	{"marcus_lee", "Marcus Lee", models.RoleMember, 250, 350, "Brightwave Studio",
		"Ops lead. If it can be automated with the API, I have probably tried.", 320 * day},
	{"priya.raman", "Priya Raman", models.RoleMember, 60, 40, "Northpeak Logistics", "PMO at Northpeak.", 200 * day},
	{"elena.garcia", "Elena García", models.RoleMember, 30, 25, "Fernhill Health", "", 150 * day},
	{"tomasz.nowak", "Tomasz Nowak", models.RoleMember, 12, 15, "Orbit Labs", "Backend developer.", 90 * day},
	{"lucia.bianchi", "Lucia Bianchi", models.RoleMember, 5, 8, "", "", 60 * day},
	{"sam.porter", "Sam Porter", models.RoleMember, 3, 6, "Porter & Daughters", "", 40 * day},
	{"jkim", "Jae-won Kim", models.RoleMember, 1, 2, "", "", 12 * day},
}

// demoLocks are levels the demo's moderator set by hand (logged), as staff
// do for a long-standing member whose help does not all show in the counts.
var demoLocks = []struct {
	username, by string
	level        int
	reason       string
}{
	{"marcus_lee", "nadia.okafor", 5, "Community champion since the beta: runs the automation user group."},
	{"priya.raman", "nadia.okafor", 4, "Northpeak's workspace admin; her flags have always been right."},
}

const day = 24 * time.Hour

// demoPost is one post: who wrote it, its Markdown and who liked it.
type demoPost struct {
	by    string
	body  string
	likes []string
}

type demoTopic struct {
	cat     int // index into defaultCategories
	title   string
	ago     time.Duration // created before now
	pinned  bool
	post    demoPost
	replies []demoPost
	solved  int // the accepted reply, counted from 1; 0 when unsolved
}

// backquote: Go raw strings cannot hold "`", so demo texts write "‵" for it.
var backquote = strings.NewReplacer("‵", "`")

// writeDemo inserts the demo rows and their counters inside tx.
func writeDemo(ctx context.Context, tx bun.Tx, now time.Time, hash string, sum *Summary) error {
	cats, err := createDefaultCategories(ctx, tx, now)
	if err != nil {
		return err
	}
	sum.Categories = len(cats)

	users := map[string]*models.User{}
	for _, d := range demoUsers {
		joined := now.Add(-d.joined)
		u := &models.User{Username: d.username, Email: d.username + "@example.com", DisplayName: d.name,
			PasswordHash: hash, Role: d.role, Company: d.company, Bio: d.bio, DaysVisited: d.visits,
			TopicsRead: d.reads, PostsRead: 6 * d.reads, CreatedAt: joined, UpdatedAt: joined, LastSeenAt: &joined}
		if err := models.CreateUser(ctx, tx, u); err != nil {
			return fmt.Errorf("user %s: %w", d.username, err)
		}
		if err := models.CreateEmailPreferences(ctx, tx, u.ID, accounts.NewToken(), joined); err != nil {
			return err
		}
		users[d.username] = u
	}
	sum.Users = len(users)

	for _, dt := range demoTopics {
		n, err := writeDemoTopic(ctx, tx, now, dt, cats[dt.cat], users)
		if err != nil {
			return fmt.Errorf("topic %q: %w", dt.title, err)
		}
		sum.Topics++
		sum.Posts += n
	}

	for _, u := range users {
		_, err := tx.NewUpdate().Model(u).
			Column("topic_count", "post_count", "likes_received", "likes_given", "solution_count", "last_seen_at").
			WherePK().Exec(ctx)
		if err != nil {
			return fmt.Errorf("update user %s counters: %w", u.Username, err)
		}
	}
	for _, c := range cats {
		if _, err := tx.NewUpdate().Model(c).Column("topic_count", "post_count").WherePK().Exec(ctx); err != nil {
			return fmt.Errorf("update category %s counters: %w", c.Slug, err)
		}
	}
	return nil
}

// writeDemoTopic inserts one topic with its posts and likes, adds to the
// counters held in cat and users (written by the caller), and returns the
// number of posts.
func writeDemoTopic(ctx context.Context, tx bun.Tx, now time.Time, dt demoTopic, cat *models.Category,
	users map[string]*models.User) (int, error) {
	all := append([]demoPost{dt.post}, dt.replies...)
	created := now.Add(-dt.ago)
	times := make([]time.Time, len(all))
	for i := range all {
		// Replies trickle in over hours, then days; none lands after now.
		at := created.Add(time.Duration(i)*2*time.Hour + time.Duration(i*i)*40*time.Minute)
		times[i] = minTime(at, now.Add(-time.Duration(len(all)-i)*time.Minute))
	}
	author := func(username string) (*models.User, error) {
		if u, ok := users[username]; ok {
			return u, nil
		}
		return nil, fmt.Errorf("no demo user %q", username)
	}

	opener, err := author(dt.post.by)
	if err != nil {
		return 0, err
	}
	last, err := author(all[len(all)-1].by)
	if err != nil {
		return 0, err
	}
	likes := 0
	for _, p := range all {
		likes += len(p.likes)
	}
	t := &models.Topic{CategoryID: cat.ID, UserID: opener.ID, Title: dt.title, Slug: slugify(dt.title),
		ReplyCount: len(dt.replies), LikeCount: likes, ViewCount: 9*len(all) + 3*likes + 14,
		LastPostedAt: times[len(all)-1], LastPostUserID: &last.ID, Pinned: dt.pinned,
		CreatedAt: created, UpdatedAt: times[len(all)-1]}
	if _, err := tx.NewInsert().Model(t).Returning("id").Exec(ctx); err != nil {
		return 0, fmt.Errorf("insert topic: %w", err)
	}
	opener.TopicCount++
	cat.TopicCount++

	for i, dp := range all {
		u, err := author(dp.by)
		if err != nil {
			return 0, err
		}
		body := backquote.Replace(dp.body)
		p := &models.Post{TopicID: t.ID, UserID: u.ID, PostNumber: i + 1, Body: body, HTML: markup.Render(body),
			RenderVersion: markup.Version, LikeCount: len(dp.likes), CreatedAt: times[i], UpdatedAt: times[i]}
		if _, err := tx.NewInsert().Model(p).Returning("id").Exec(ctx); err != nil {
			return 0, fmt.Errorf("insert post %d: %w", i+1, err)
		}
		u.PostCount++
		cat.PostCount++
		u.LastSeenAt = maxTimePtr(u.LastSeenAt, times[i])
		switch {
		case i == 0:
			t.FirstPostID = &p.ID
		case i == dt.solved:
			t.SolvedPostID = &p.ID
			u.SolutionCount++
		}
		for _, name := range dp.likes {
			liker, err := author(name)
			if err != nil {
				return 0, err
			}
			if liker == u {
				return 0, fmt.Errorf("%s likes their own post %d", name, i+1)
			}
			like := &models.Like{PostID: p.ID, UserID: liker.ID, CreatedAt: minTime(times[i].Add(45*time.Minute), now)}
			if _, err := tx.NewInsert().Model(like).Exec(ctx); err != nil {
				return 0, fmt.Errorf("insert like: %w", err)
			}
			liker.LikesGiven++
			u.LikesReceived++
		}
		if err := models.Reindex(ctx, tx, models.OutboxPost, p.ID, times[i]); err != nil {
			return 0, err
		}
	}
	if _, err := tx.NewUpdate().Model(t).Column("first_post_id", "solved_post_id").WherePK().Exec(ctx); err != nil {
		return 0, fmt.Errorf("link first and solving posts: %w", err)
	}
	return len(all), nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTimePtr(p *time.Time, t time.Time) *time.Time {
	if p != nil && p.After(t) {
		return p
	}
	return &t
}

var demoTopics = []demoTopic{
	{cat: 4, title: "Welcome to the Tasklane Community: start here", ago: 45 * day, pinned: true,
		post: demoPost{by: "nadia.okafor", likes: []string{"marcus_lee", "priya.raman", "elena.garcia", "tomasz.nowak"}, body: `Hi everyone, and welcome! 👋

This is the place to ask questions about **Tasklane**, share how your team works and tell us what you'd like to see next. Tasklane staff read every thread, but most answers come from people like you.

A few tips before you post:

- **Search first.** Someone may have asked the same thing already.
- **Pick the right category.** How-to questions go to *Questions & Answers*, ideas to *Feature Requests*.
- **Mark the solution.** When a reply answers your question, mark it so the next person finds it.
- **Be kind.** Please read the [community guidelines](/guidelines) — flag anything that breaks them and a moderator will take a look.

Never post passwords, API tokens or customer data. If your question involves your account or an invoice, say so and we'll follow up privately.`},
		replies: []demoPost{
			{by: "marcus_lee", likes: []string{"priya.raman"}, body: "Glad this exists! The old support portal was a black hole. Looking forward to trading API tricks with you all."},
		}},

	{cat: 4, title: "Tasklane 4.2 release notes: recurring tasks, faster search and CSV export", ago: 20 * day,
		post: demoPost{by: "nadia.okafor", likes: []string{"marcus_lee", "priya.raman", "lucia.bianchi"}, body: `Tasklane 4.2 is rolling out to all workspaces this week. Here's what changed:

| Feature | Plans | Notes |
|:--------|:------|:------|
| Recurring tasks | All plans | Daily, weekly, monthly or a custom rule |
| Export CSV from any board | Team, Business | Respects your current filters |
| Search | All plans | About 3× faster on large workspaces |
| Workload view | Business | Beta; turn it on under **Settings → Labs** |

Full details are in the [changelog](https://tasklane.example/changelog/4-2). As always, tell us what you think below.`},
		replies: []demoPost{
			{by: "priya.raman", likes: []string{"nadia.okafor"}, body: "The CSV export is exactly what our finance team kept asking for. Thank you!"},
			{by: "elena.garcia", body: "Is the workload view coming to the Team plan as well, or is it Business only for good?"},
			{by: "nadia.okafor", likes: []string{"elena.garcia"}, body: "@elena.garcia it stays Business-only while it's in beta. We'll share plans for the other tiers once it's out of Labs."},
		}},

	{cat: 0, title: "How do I invite my whole team without sending 40 emails?", ago: 10 * day,
		post: demoPost{by: "jkim", body: "We just signed up for the Team plan and I need to add about 40 people. Is there a faster way than typing every address into the invite dialog one by one?"},
		replies: []demoPost{
			{by: "priya.raman", body: "We did it with a CSV import when we started, but that was a while ago — not sure it's still there."},
			{by: "nadia.okafor", likes: []string{"jkim", "sam.porter"}, body: `You don't need a CSV any more. Go to **Admin → Members → Invite** and paste the whole list, one address per line or separated by commas:

~~~
ana@yourcompany.com, ben@yourcompany.com
carla@yourcompany.com
~~~

If everyone has an address on the same domain, you can also turn on *domain capture* so colleagues can join without an invite: see [Inviting your team](https://help.tasklane.example/articles/invite-teammates).`},
			{by: "jkim", likes: []string{"nadia.okafor"}, body: "Pasted the list and it worked on the first try. Thanks!"},
		}, solved: 2},

	{cat: 0, title: "Project templates vs. duplicating a project: which should I use?", ago: 8 * day,
		post: demoPost{by: "sam.porter", body: "Every new client gets the same set of boards and tasks. Right now I duplicate last month's project and clean it up. Should I be using templates instead? What's the actual difference?"},
		replies: []demoPost{
			{by: "elena.garcia", likes: []string{"sam.porter", "lucia.bianchi"}, body: `We switched to templates last year. The differences that mattered to us:

1. A template never has stale comments, attachments or time entries in it.
2. Due dates in a template are *relative* ("3 days after the project starts").
3. Changing the template doesn't touch projects already created from it.

Duplicating is still handy for a one-off copy.`},
			{by: "marcus_lee", body: "+1 to templates. You can also create projects from a template through the API (‵POST /v2/projects‵ with ‵template_id‵) if you onboard clients automatically."},
		}},

	{cat: 1, title: "Export CSV from a board includes archived tasks", ago: 18 * day,
		post: demoPost{by: "priya.raman", likes: []string{"tomasz.nowak"}, body: `When I export CSV from our *Shipments* board, archived tasks show up in the file, even though they're hidden on the board.

Steps to reproduce:

1. Open a board with some archived tasks
2. Click **⋯ → Export CSV**
3. Open the file: archived tasks are at the bottom

The header row looks like this:

~~~csv
id,title,status,assignee,due_date,archived
~~~

Is this intended?`},
		replies: []demoPost{
			{by: "tomasz.nowak", body: "Same here. We filter the ‵archived‵ column in a spreadsheet afterwards, which is annoying."},
			{by: "nadia.okafor", likes: []string{"priya.raman", "tomasz.nowak"}, body: "The export dialog has an **Include archived tasks** checkbox that is on by default (we know, we know). Untick it once and the board remembers your choice for the next export."},
			{by: "priya.raman", body: "Found it, hidden under *More options*. Works, thanks Nadia!"},
		}, solved: 2},

	{cat: 1, title: "Recurring tasks created twice after the daylight saving time change", ago: 25 * day,
		post: demoPost{by: "elena.garcia", likes: []string{"lucia.bianchi"}, body: "Since the clocks changed on Sunday, every weekly recurring task in our workspace shows up twice on Monday morning. Deleting the copy works, but it comes back the next week. Anyone else?"},
		replies: []demoPost{
			{by: "marcus_lee", body: "Check the timezone in your profile and in **Workspace → Settings**. If they differ, the scheduler can get confused around DST."},
			{by: "nadia.okafor", likes: []string{"elena.garcia", "marcus_lee"}, body: "Thanks for the report. This is a bug in how recurring tasks handle the DST switch when the workspace and profile timezones differ. It's fixed in **4.2.1**, which is rolling out today; duplicates already created won't be removed automatically, sorry."},
			{by: "elena.garcia", body: "Both timezones were set differently indeed. After 4.2.1 no more duplicates this week."},
			{by: "lucia.bianchi", body: "Same problem, same fix. Thanks both."},
		}, solved: 2},

	{cat: 1, title: "Billing invoice shows the wrong VAT number", ago: 5 * day,
		post: demoPost{by: "lucia.bianchi", body: "Our latest billing invoice still has the VAT number of our old company. Where do I change it, and can the invoice be re-issued? Our accountant needs it for the quarter."},
		replies: []demoPost{
			{by: "nadia.okafor", body: "Workspace owners can change it under **Settings → Billing → Company details**; new invoices use it right away. For an invoice that was already issued, please write to billing@tasklane.example with the invoice number and we'll re-issue it. (Don't post invoice details here — this is a public forum.)"},
		}},

	{cat: 2, title: "Webhook timeout when Tasklane calls our endpoint", ago: 30 * day,
		post: demoPost{by: "marcus_lee", likes: []string{"tomasz.nowak"}, body: `We subscribe to ‵task.updated‵ webhooks and, during busy hours, the delivery log shows timeouts:

~~~
2026-10-21T09:14:03Z task.updated delivery=7f3a attempt=3 error="timeout after 10s"
~~~

Our handler writes to our reporting database before answering:

~~~go
func handleWebhook(w http.ResponseWriter, r *http.Request) {
	var ev Event
	if err := json.NewDecoder(r.Body).Decode(&ev); err != nil {
		http.Error(w, "bad payload", http.StatusBadRequest)
		return
	}
	if err := store.Save(r.Context(), ev); err != nil { // slow under load
		http.Error(w, "retry", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}
~~~

How long does Tasklane wait, and how often does it retry?`},
		replies: []demoPost{
			{by: "priya.raman", body: "We had the same thing with our data warehouse loader. Following."},
			{by: "tomasz.nowak", likes: []string{"marcus_lee", "priya.raman", "nadia.okafor"}, body: `Answer first, work later: put the event on a queue and return ‵200‵ right away.

~~~go
if err := queue.Enqueue(r.Context(), ev); err != nil {
	http.Error(w, "retry", http.StatusServiceUnavailable)
	return
}
w.WriteHeader(http.StatusOK) // the worker saves it
~~~

Use the ‵delivery‵ id to ignore duplicates, since a retry can arrive after a slow success.`},
			{by: "nadia.okafor", body: "To complete Tomasz's answer: Tasklane waits **10 seconds**, then retries 3 times with exponential backoff (1, 5 and 25 minutes). See [Webhooks](https://developers.tasklane.example/webhooks#retries)."},
			{by: "marcus_lee", body: "Moved the write to a queue yesterday: zero timeouts since. Thanks!"},
		}, solved: 2},

	{cat: 2, title: "API rate limit: how many requests per minute on the Business plan?", ago: 14 * day,
		post: demoPost{by: "tomasz.nowak", body: "Our nightly sync hits ‵429 Too Many Requests‵ after a few thousand calls. What's the API rate limit on Business, and is it per token or per workspace?"},
		replies: []demoPost{
			{by: "nadia.okafor", likes: []string{"tomasz.nowak", "marcus_lee"}, body: `It's **600 requests per minute per token** on every plan. Each response tells you where you stand:

~~~http
HTTP/1.1 200 OK
X-RateLimit-Limit: 600
X-RateLimit-Remaining: 12
X-RateLimit-Reset: 1764000000
~~~

On a ‵429‵, wait for the number of seconds in ‵Retry-After‵ before the next call.`},
			{by: "marcus_lee", likes: []string{"tomasz.nowak"}, body: "Also: use ‵?limit=100‵ and the ‵next_cursor‵ from each page instead of fetching tasks one by one. Our sync went from 9,000 calls to about 200."},
		}, solved: 1},

	{cat: 2, title: "Slack notifications stopped after we renamed our channel", ago: 3 * day,
		post: demoPost{by: "sam.porter", body: "We renamed **#ops** to **#operations** in Slack, and since then Tasklane posts nothing there. The integration page still says *Connected*. Do I have to reconnect it, and will I lose the per-project settings?"}},

	{cat: 2, title: "Is there a GitHub integration that links commits to tasks?", ago: 2*day + 5*time.Hour,
		post: demoPost{by: "jkim", body: "Our developers would like commits like ‵fix login redirect (TL-482)‵ to show up on task TL-482. Is there a GitHub integration for that, or do people build it themselves with webhooks?"}},

	{cat: 3, title: "Dark mode for the web app", ago: 35 * day,
		post: demoPost{by: "elena.garcia", likes: []string{"lucia.bianchi", "marcus_lee", "priya.raman", "tomasz.nowak", "sam.porter"}, body: "The mobile app follows the system theme, the web app is bright white no matter what. Half our team works late shifts — a dark mode would be much easier on the eyes."},
		replies: []demoPost{
			{by: "lucia.bianchi", body: "+1, please!"},
			{by: "marcus_lee", body: "Until then, a browser extension like Dark Reader works reasonably well, except for the Gantt chart colours."},
			{by: "priya.raman", likes: []string{"elena.garcia"}, body: "Would love it to follow the OS setting automatically, like the mobile app does."},
			{by: "tomasz.nowak", body: "Also please make sure label colours stay readable in dark mode."},
			{by: "sam.porter", body: "Voting for this one too."},
			{by: "nadia.okafor", likes: []string{"elena.garcia", "lucia.bianchi", "sam.porter"}, body: "Thanks for all the votes. Dark mode is on the roadmap for this quarter; we'll post in *Announcements* when it's ready for beta testers."},
		}},

	{cat: 3, title: "Bulk edit due dates for selected tasks", ago: 12 * day,
		post: demoPost{by: "priya.raman", likes: []string{"marcus_lee"}, body: "When a shipment slips, we need to move the due dates of 20–30 tasks by the same number of days. Could we select several tasks and shift their due dates at once?"},
		replies: []demoPost{
			{by: "marcus_lee", likes: []string{"priya.raman"}, body: `Workaround until then, with the API:

~~~bash
for id in $(tl tasks list --board shipments --label delayed --ids); do
  tl tasks update "$id" --due "+3d"
done
~~~

‵tl‵ is the [Tasklane CLI](https://developers.tasklane.example/cli).`},
			{by: "nadia.okafor", body: "Logged as a feature request for the product team — thanks for the clear use case."},
		}},

	{cat: 1, title: "Gantt chart doesn't show subtask dependencies", ago: 6 * day,
		post: demoPost{by: "tomasz.nowak", body: "I set up dependencies between subtasks (design → build → test), but on the Gantt chart only the parent tasks have arrows. Am I missing a setting?"},
		replies: []demoPost{
			{by: "priya.raman", likes: []string{"tomasz.nowak"}, body: "Open the view menu (**⋯** top right of the chart) and turn on **Show subtasks**. The dependency arrows between subtasks only appear when subtasks are visible."},
			{by: "tomasz.nowak", body: "That did it, thanks!"},
		}, solved: 1},

	{cat: 0, title: "Keyboard shortcuts cheat sheet?", ago: 1 * day,
		post: demoPost{by: "lucia.bianchi", body: "Is there a list of keyboard shortcuts somewhere? I keep reaching for the mouse."},
		replies: []demoPost{
			{by: "marcus_lee", likes: []string{"lucia.bianchi"}, body: `Press ‵?‵ anywhere in the app for the full list. The ones I use all day:

- ‵n‵ new task
- ‵/‵ search
- ‵g‵ then ‵b‵ go to boards
- ‵e‵ edit the selected task
- ‵Ctrl‵ + ‵Enter‵ save a comment`},
		}},
}
