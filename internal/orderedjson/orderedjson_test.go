package orderedjson

import (
	"encoding/json"
	"strings"
	"testing"
)

// A user's file keeps its key order, unknown keys and value spelling; only
// the key edited changes.
func TestEditKeepsEverythingElse(t *testing.T) {
	in := `{"zeta": 1, "auths": {"b": {}, "a": {}}, "credHelpers": {"gcr.io": "gcloud"}, "alpha": [1, 2.50, "x"]}`
	o, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	helpers, ok := o.Get("credHelpers")
	if !ok || string(helpers) != `{"gcr.io": "gcloud"}` {
		t.Fatalf("Get(credHelpers) = %s, %v", helpers, ok)
	}
	o.Set("credHelpers", json.RawMessage(`{"gcr.io":"gcrcred"}`))
	o.Set("credsStore", json.RawMessage(`"desktop"`))
	o.Delete("zeta")
	o.Delete("absent")
	out, err := o.MarshalJSON() // json.Marshal would compact it; the values stay as written
	if err != nil {
		t.Fatal(err)
	}
	want := `{"auths":{"b": {}, "a": {}},"credHelpers":{"gcr.io":"gcrcred"},"alpha":[1, 2.50, "x"],"credsStore":"desktop"}`
	if string(out) != want {
		t.Errorf("after the edit:\n got %s\nwant %s", out, want)
	}
	if _, ok := o.Get("zeta"); ok {
		t.Error("a deleted key is still there")
	}
}

func TestEmptyObjectAndNullValue(t *testing.T) {
	o, err := Parse([]byte(" {} \n"))
	if err != nil || len(o) != 0 {
		t.Fatalf("Parse({}) = %v, %v", o, err)
	}
	o.Set("k", nil) // an unset value is written as null, never as nothing
	if out, _ := o.MarshalJSON(); string(out) != `{"k":null}` {
		t.Errorf("Marshal = %s", out)
	}
}

func TestParseRefusesWhatIsNotOneObject(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`[1, 2]`, "not a JSON object"},
		{`"text"`, "not a JSON object"},
		{``, "EOF"},
		{`{"a": 1`, "EOF"},
		{`{"a": 1} {"b": 2}`, "data after the JSON object"},
		{`{"a": }`, "invalid character"},
		{`{"a" 1}`, "colon"},
	} {
		if _, err := Parse([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want an error with %q", c.in, err, c.want)
		}
	}
}
