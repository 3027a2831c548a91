// Package progress draws a one-line terminal progress report ("\r…") with
// items done, rate and ETA, for the long-running commands (seed, reindex).
package progress

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// every limits redraws so a fast loop does not flood the terminal.
const every = 200 * time.Millisecond

// Bar reports progress on one line of w (nil: reports nothing).
type Bar struct {
	w           io.Writer
	unit        string
	total, done int
	start, last time.Time
	width       int // of the last line drawn, to blank a shorter one
}

// New returns a bar counting total units ("posts") on w.
func New(w io.Writer, unit string, total int) *Bar {
	now := time.Now()
	return &Bar{w: w, unit: unit, total: total, start: now, last: now}
}

// Add records n more units done.
func (b *Bar) Add(n int) { b.Set(b.done+n, b.total) }

// Set records done out of total (the total may be learnt late).
func (b *Bar) Set(done, total int) {
	b.done, b.total = done, total
	if b.w == nil {
		return
	}
	if now := time.Now(); now.Sub(b.last) >= every {
		b.last = now
		b.draw(now)
	}
}

// Finish draws the final state and ends the line.
func (b *Bar) Finish() {
	if b.w == nil || b.total == 0 {
		return
	}
	b.draw(time.Now())
	fmt.Fprintln(b.w)
}

func (b *Bar) draw(now time.Time) {
	elapsed := now.Sub(b.start).Seconds()
	rate, eta := 0.0, "?"
	if elapsed > 0 && b.done > 0 {
		rate = float64(b.done) / elapsed
		eta = time.Duration(float64(b.total-b.done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	line := fmt.Sprintf("%s %d/%d (%.0f%%)  %.0f %s/s  ETA %s",
		b.unit, b.done, b.total, 100*float64(b.done)/float64(max(b.total, 1)), rate, b.unit, eta)
	pad := max(b.width-len(line), 0)
	b.width = len(line)
	fmt.Fprintf(b.w, "\r%s%s", line, strings.Repeat(" ", pad))
}
