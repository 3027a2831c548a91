package xsscorpus

import (
	"strings"
	"testing"
)

func TestCorpus(t *testing.T) {
	vs, err := All()
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) < 300 {
		t.Errorf("corpus has %d vectors, want at least 300", len(vs))
	}
	seen := map[string]string{}
	for _, v := range vs {
		if strings.ContainsRune(v.Text, 0) {
			t.Errorf("%s has a NUL, which the edge refuses before the pipeline", v)
		}
		if id, dup := seen[v.Text]; dup {
			t.Errorf("%s repeats %s", v, id)
		}
		seen[v.Text] = v.ID
	}
}

func TestParse(t *testing.T) {
	vs, err := parse("# c\n@source s\na{U+2028}b\n<<<\nx\n\n# kept\n>>>\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 2 || vs[0].Text != "a\u2028b" || vs[1].Text != "x\n\n# kept" || vs[1].ID != "s-2" || vs[1].Line != 4 {
		t.Fatalf("parse = %+v", vs)
	}
	for _, bad := range []string{"v\n", "@source s\n<<<\nx\n", "@source s\n{U+0}\n"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%q) succeeded, want an error", bad)
		}
	}
}
