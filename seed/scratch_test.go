package seed

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"agora/markup"
)

func TestScratchShow(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3; i++ {
		s := subjects[r.IntN(len(subjects))].phrase
		fmt.Println(title(r, s))
		q := questionBody(r, s)
		fmt.Println(q)
		fmt.Println(markup.Render(q))
		fmt.Println("----")
		rb := replyBody(r, s)
		fmt.Println(rb)
		fmt.Println("====")
	}
}

func BenchmarkScratchRender(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	var bodies []string
	for i := 0; i < 1000; i++ {
		s := subjects[r.IntN(len(subjects))].phrase
		if i%10 == 0 {
			bodies = append(bodies, questionBody(r, s))
		} else {
			bodies = append(bodies, replyBody(r, s))
		}
	}
	n := 0
	for _, x := range bodies { n += len(x) }
	b.Logf("avg len %d", n/len(bodies))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		markup.Render(bodies[i%len(bodies)])
	}
}
