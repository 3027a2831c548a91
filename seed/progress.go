package seed

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress redraws one terminal line ("\r…") with posts done, rate and ETA,
// at most every progressEvery so a fast loop does not flood the terminal.
type progress struct {
	w           io.Writer // nil: report nothing
	total, done int
	start, last time.Time
	width       int // of the last line drawn, to blank a shorter one
}

const progressEvery = 200 * time.Millisecond

func newProgress(w io.Writer, total int) *progress {
	now := time.Now()
	return &progress{w: w, total: total, start: now, last: now}
}

func (p *progress) add(n int) {
	p.done += n
	if p.w == nil {
		return
	}
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.draw(now)
	}
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p.w == nil || p.total == 0 {
		return
	}
	p.draw(time.Now())
	fmt.Fprintln(p.w)
}

func (p *progress) draw(now time.Time) {
	elapsed := now.Sub(p.start).Seconds()
	rate, eta := 0.0, "?"
	if elapsed > 0 && p.done > 0 {
		rate = float64(p.done) / elapsed
		eta = time.Duration(float64(p.total-p.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	line := fmt.Sprintf("posts %d/%d (%.0f%%)  %.0f posts/s  ETA %s",
		p.done, p.total, 100*float64(p.done)/float64(max(p.total, 1)), rate, eta)
	pad := max(p.width-len(line), 0)
	p.width = len(line)
	fmt.Fprintf(p.w, "\r%s%s", line, strings.Repeat(" ", pad))
}
