package router

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/durable-delivery/durable/adapters"
)

// fuzzStartSplit is the split every fuzzed call starts from: a rejected
// call must leave it as it is.
var fuzzStartSplit = adapters.Split{Service: "web", Backends: []adapters.Backend{
	{Set: "a", Weight: 100, Endpoints: []string{"127.0.0.1:1"}},
}}

// FuzzAdminPutSplit sends fuzzed bodies to PUT /v1/splits/{service} of a
// router that routes fuzzStartSplit, through the real admin handler. The
// answer must never be a 5xx; a 200 must store exactly the split of the
// body and answer it; any other answer must leave the table as it was,
// and our own 4xx answers say why in {"error": ...}. Whatever was sent,
// every split in the table passes validateSplit and the operator's allowed
// endpoints, and its route picks only sets with traffic, each exactly as
// often as its weight says over one cycle of picks.
func FuzzAdminPutSplit(f *testing.F) {
	for _, seed := range []struct{ service, body string }{
		{"web", `{"service":"web","backends":[{"set":"a","weight":90,"endpoints":["127.0.0.1:1"]},{"set":"b","weight":10,"endpoints":["[::1]:2","localhost:3"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":0,"endpoints":[]}]}`},
		{"web", `{"service":"web","backends":[]}`},
		{"api", `{"service":"api","backends":[{"set":"x","weight":100,"endpoints":["127.0.0.5:65535"]}]}`},
		{"api", `{"service":"api","backends":[{"set":"x","weight":100,"endpoints":["10.0.0.1:80"]}]}`},
		{"web-preview", `{"service":"web-preview","backends":[{"set":"b","weight":100,"endpoints":["127.0.0.1:9"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":99,"endpoints":["127.0.0.1:1"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":-1,"endpoints":["127.0.0.1:1"]},{"set":"b","weight":101,"endpoints":["127.0.0.1:1"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":50,"endpoints":["127.0.0.1:1"]},{"set":"a","weight":50,"endpoints":["127.0.0.1:1"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":100,"endpoints":["localhost"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":100,"endpoints":["127.0.0.1:0"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":9223372036854775807,"endpoints":["127.0.0.1:1"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":1e2,"endpoints":["127.0.0.1:1"]}]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":"100","endpoints":["127.0.0.1:1"]}]}`},
		{"web", `{"service":"web","backends":null,"backend":[]}`},
		{"web", `{"service":"web","backends":[]} {}`},
		{"web", `{"service":"web","backends":[` + strings.Repeat(`{"set":"x","weight":0},`, maxBackends) + `{"set":"y","weight":0}]}`},
		{"api", `{"service":"web","backends":[]}`},
		{"Web x", `{"service":"Web x","backends":[]}`},
		{"a/../b", `{"service":"a/../b","backends":[]}`},
		{"", `{"service":"","backends":[]}`},
		{"web", `{"service":"web","backends":[{"set":"a","weight":100,"endpoints":["127.0.0.1:1"]}]`},
		{"web", ``},
		{"web", `null`},
		{"web", "\xff\xfe"},
	} {
		f.Add(seed.service, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, service string, body []byte) {
		r, err := New("", quiet)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SetSplit(fuzzStartSplit); err != nil {
			t.Fatal(err)
		}
		before := r.table.Load().splits()
		req := httptest.NewRequest(http.MethodPut, "/v1/splits/"+url.PathEscape(service), bytes.NewReader(body))
		rec := httptest.NewRecorder()
		r.AdminHandler().ServeHTTP(rec, req)
		after := r.table.Load().splits()
		switch code := rec.Code; {
		case code >= 500:
			t.Fatalf("PUT %q answered %d: %s", service, code, rec.Body)
		case code == http.StatusOK:
			checkStored(t, rec.Body.Bytes(), body, after)
		default:
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("a call answered %d changed the table from %+v to %+v", code, before, after)
			}
			checkErrorBody(t, code, rec.Body.Bytes())
		}
		for name, rt := range r.table.Load().routes {
			if err := validateSplit(rt.split); err != nil || rt.split.Service != name {
				t.Fatalf("the table routes %q by an invalid split %+v: %v", name, rt.split, err)
			}
			if err := r.checkAllowed(rt.split); err != nil {
				t.Fatalf("the table routes %q to an endpoint not allowed: %v", name, err)
			}
			checkPicks(t, rt)
		}
	})
}

// checkStored checks a 200's answer is the body's split, stored in after.
func checkStored(t *testing.T, answer, body []byte, after map[string]adapters.Split) {
	t.Helper()
	var sent, answered adapters.Split
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("a body that does not decode was accepted: %v", err)
	}
	if err := json.Unmarshal(answer, &answered); err != nil {
		t.Fatalf("the answer to an accepted split does not decode: %v", err)
	}
	stored := after[sent.Service]
	if !sameSplit(sent, stored) || !sameSplit(answered, stored) {
		t.Fatalf("sent %+v, answered %+v, stored %+v", sent, answered, stored)
	}
}

// sameSplit compares splits, taking a nil list for an empty one: JSON
// writes both as a value that decodes to either.
func sameSplit(a, b adapters.Split) bool {
	if a.Service != b.Service || len(a.Backends) != len(b.Backends) {
		return false
	}
	for i := range a.Backends {
		x, y := a.Backends[i], b.Backends[i]
		if x.Set != y.Set || x.Weight != y.Weight || !slices.Equal(x.Endpoints, y.Endpoints) {
			return false
		}
	}
	return true
}

// checkErrorBody checks the handler's own refusals (400, 403) say why.
func checkErrorBody(t *testing.T, code int, answer []byte) {
	t.Helper()
	if code != http.StatusBadRequest && code != http.StatusForbidden {
		return // the mux's own answers: no such route or method
	}
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(answer, &e); err != nil || strings.TrimSpace(e.Error) == "" {
		t.Fatalf("a %d answer without a reason: %s", code, answer)
	}
}

// checkPicks picks one cycle of requests (the weights sum to 100): every
// pick is a set with weight and endpoints, each as often as its weight.
func checkPicks(t *testing.T, rt *route) {
	t.Helper()
	counts := map[string]int{}
	for range 100 {
		s := rt.pick()
		if s == nil {
			break
		}
		if s.weight <= 0 || len(s.endpoints) == 0 {
			t.Fatalf("service %s: picked set %s at weight %d with %d endpoints", rt.split.Service, s.id, s.weight, len(s.endpoints))
		}
		counts[s.id]++
	}
	for _, b := range rt.split.Backends {
		if counts[b.Set] != b.Weight {
			t.Fatalf("service %s: set %s picked %d times in 100, weight %d", rt.split.Service, b.Set, counts[b.Set], b.Weight)
		}
	}
}
