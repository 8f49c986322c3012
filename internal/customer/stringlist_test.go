package customer

import (
	"encoding/json"
	"fmt"
	"testing"
)

// stringList must read every stored list as encoding/json does.
func TestStringListDecodesLikeJSON(t *testing.T) {
	lists := [][]string{nil, {}, {""}, {"a"}, {"a@example.no", "b@example.no"}, {`q"uote`, "x"}, {"<tag>&"},
		{"ø", "\u2028"}, {`a","b`}, {"back\\slash"}, {"\x00ctl"}}
	stored := []string{`["a" ,"b"]`, `[ "a"]`, `["a\u0041"]`, `["\xff"]`, `not json`}
	for _, l := range lists {
		b, _ := json.Marshal(l)
		stored = append(stored, string(b))
	}
	for _, s := range stored {
		var want []string
		_ = json.Unmarshal([]byte(s), &want)
		if got := stringList(s); fmt.Sprintf("%q", got) != fmt.Sprintf("%q", want) || len(got) != len(want) {
			t.Errorf("stringList(%s) = %q, want %q", s, got, want)
		}
	}
}
