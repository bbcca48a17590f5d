package podidentity

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"

	"github.com/gcrcred/gcrcred/test/fakegoogle"
)

// STS on a closed port: the error says it could not be reached and ends
// with what to check, naming the host, and carries no part of the token.
func TestUnreachableSTSSaysWhatToCheck(t *testing.T) {
	w := newWorld(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	b, _ := json.Marshal(map[string]any{"type": "external_account", "audience": w.audience,
		"subject_token_type": TokenTypeJWT, "token_url": "http://" + closed + "/v1/token"})
	cfg, err := ParseConfig(b, "wi.json")
	if err != nil {
		t.Fatal(err)
	}
	r := w.request(t, fakegoogle.ServiceAccountClaims{Namespace: "a", Name: "puller"}, "", t.TempDir())
	r.Config = cfg
	_, err = Token(context.Background(), r)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"Google STS (" + closed + ") could not be reached", "connection refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	if !strings.HasSuffix(msg, "check that the node's network, DNS and proxy reach "+closed) {
		t.Errorf("error does not end with the next step:\n%s", msg)
	}
	for _, part := range strings.Split(r.Token, ".") {
		if strings.Contains(msg, part) {
			t.Errorf("error carries part of the token:\n%s", msg)
		}
	}
}
