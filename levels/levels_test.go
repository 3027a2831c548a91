package levels_test

import (
	"testing"

	"agora/levels"
	"agora/models"
)

func TestNext(t *testing.T) {
	for _, c := range []struct{ stored, computed, want int }{
		{1, 3, 3}, // up at once, skipping levels
		{2, 1, 2}, // levels 1 and 2 are kept
		{1, 1, 1},
		{4, 3, 3}, // 3+ follow the thresholds down
		{5, 1, 2}, // but not below 2
		{3, 3, 3},
	} {
		if got := levels.Next(c.stored, c.computed); got != c.want {
			t.Errorf("Next(%d, %d) = %d, want %d", c.stored, c.computed, got, c.want)
		}
	}
}

func TestPoints(t *testing.T) {
	if got := levels.Points(models.Penalties{Removed: 2, FlagsUpheld: 1, Suspensions: 1}); got != 2+1+levels.SuspensionPenalty {
		t.Errorf("points = %d, want %d", got, 3+levels.SuspensionPenalty)
	}
}
