package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// secret has characters every encoding treats differently: a space, '/',
// '+', '&', '<', a quote, and a non-ASCII letter.
const secret = `s3cret value/with+plus&<"é>`

// encoded are the forms a program may print secret in.
func encoded(v string) map[string]string {
	b := []byte(v)
	j, _ := json.Marshal(v)
	return map[string]string{
		"raw": v, "json": string(j[1 : len(j)-1]),
		"base64": base64.StdEncoding.EncodeToString(b), "base64url": base64.URLEncoding.EncodeToString(b),
		"base64 raw": base64.RawStdEncoding.EncodeToString(b), "base64url raw": base64.RawURLEncoding.EncodeToString(b),
		"hex": hex.EncodeToString(b), "HEX": strings.ToUpper(hex.EncodeToString(b)),
		"query-escaped": url.QueryEscape(v), "path-escaped": url.PathEscape(v),
		"base64 of user:value":   base64.StdEncoding.EncodeToString([]byte("user:" + v)),
		"base64 of ab:value:x":   base64.URLEncoding.EncodeToString([]byte("ab:" + v + ":x")),
		"base64 of a value line": base64.StdEncoding.EncodeToString([]byte("A" + v + "\n")),
	}
}

func TestStringRedactsEveryForm(t *testing.T) {
	r := New()
	r.Add("secretEnv.DB_PASSWORD", secret)
	for what, form := range encoded(secret) {
		in := "exec adapter plug-in apply: exit status 1: got " + form + " from stdin"
		out := r.String(in)
		if !strings.Contains(out, "[redacted secretEnv.DB_PASSWORD]") {
			t.Errorf("%s: %q not redacted: %q", what, form, out)
		}
		for other, f := range encoded(secret) {
			// What is left around a base64 core is at most 2 characters.
			if strings.Contains(out, f) || (len(f) > 8 && strings.Contains(out, f[2:len(f)-2])) {
				t.Errorf("%s: the %s form is still in %q", what, other, out)
			}
		}
		if !strings.HasPrefix(out, "exec adapter plug-in apply: exit status 1: got ") || !strings.HasSuffix(out, " from stdin") {
			t.Errorf("%s: the text around the value changed: %q", what, out)
		}
	}
}

func TestShortValuesAreNotRedacted(t *testing.T) {
	r := New()
	r.Add("secretEnv.PIN", "1234")
	r.Add("secretEnv.EMPTY", "")
	if got := r.String("port 1234 is open"); got != "port 1234 is open" {
		t.Fatalf("a value under %d bytes was redacted: %q", MinLength, got)
	}
	var none *Redactor
	none.Add("secretEnv.X", secret)
	if got := none.String(secret); got != secret {
		t.Fatalf("a nil Redactor changed %q", got)
	}
}

func TestErrorKeepsWhatItWraps(t *testing.T) {
	r := New()
	r.Add("secretEnv.TOKEN", secret)
	err := r.Error(fmt.Errorf("exec adapter: %s: %w", secret, fs.ErrNotExist))
	if strings.Contains(err.Error(), secret) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("redacted error %v: want no value and still ErrNotExist", err)
	}
	plain := errors.New("nothing secret")
	if r.Error(plain) != plain || r.Error(nil) != nil {
		t.Fatal("an error with nothing to redact was changed")
	}
}

type record struct {
	Message string            `json:"message"`
	Errors  []string          `json:"errors"`
	Labels  map[string]string `json:"labels"`
	Detail  json.RawMessage   `json:"detail"`
	Count   int64             `json:"count"`
}

func TestValueRedactsEveryString(t *testing.T) {
	r := New()
	r.Add("secretEnv.TOKEN", secret)
	in := record{Message: "failed: " + secret, Errors: []string{"a", hex.EncodeToString([]byte(secret))},
		Labels: map[string]string{url.QueryEscape(secret): "x"}, Detail: json.RawMessage(`{"env":{"T":` + mustJSON(secret) + `}}`), Count: 1 << 60}
	out, ok := Value(r, in)
	b, _ := json.Marshal(out)
	if !ok || bytes.Contains(b, []byte("s3cret")) || bytes.Contains(b, []byte(hex.EncodeToString([]byte(secret)))) || out.Count != 1<<60 {
		t.Fatalf("Value: %s, %v", b, ok)
	}
	if !strings.Contains(string(b), "[redacted secretEnv.TOKEN]") {
		t.Fatalf("Value: %s: no replacement", b)
	}
	same := record{Message: "fine", Detail: json.RawMessage(`{ "b": 1,  "a": 2 }`)}
	if got, ok := Value(r, same); !ok || string(got.Detail) != string(same.Detail) {
		t.Fatalf("a record with nothing to redact changed: %s", got.Detail)
	}
}

func mustJSON(v string) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHandlerRedactsLogs(t *testing.T) {
	r := New()
	var buf bytes.Buffer
	log := slog.New(r.Handler(slog.NewJSONHandler(&buf, nil)))
	r.Add("secretEnv.TOKEN", secret)
	log.With("bound", base64.StdEncoding.EncodeToString([]byte(secret))).WithGroup("g").Error("apply failed: "+secret,
		"err", errors.New("stderr: "+url.PathEscape(secret)), "detail", map[string]string{"env": secret},
		slog.Group("inner", "v", hex.EncodeToString([]byte(secret))), "n", 3)
	out := buf.String()
	for what, form := range encoded(secret) {
		if strings.Contains(out, form) || strings.Contains(out, strings.Trim(mustJSON(form), `"`)) {
			t.Errorf("the log holds the %s form: %s", what, out)
		}
	}
	if strings.Count(out, "[redacted secretEnv.TOKEN]") != 5 || !strings.Contains(out, `"n":3`) {
		t.Errorf("log: %s", out)
	}
}
