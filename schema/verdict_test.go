package schema

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// verdictMutations are added to generated repositories: each one a mistake
// or a hostile value, applied alone and in pairs.
var verdictMutations = []string{
	`services: "svc-0": dependsOn: ["svc-0"]`,
	`services: "svc-1": dependsOn: ["svc-0", "svc-0", "nope", "svc-O"]`,
	`services: "svc-0": dependsOn: ["svc-1"]` + "\n" + `services: "svc-1": dependsOn: ["svc-0"]`,
	`services: "svc-1": strategy: {kind: "canary", steps: [{weight: 50}, {weight: 50}, {weight: 10}]}`,
	`services: "svc-0": run: secretEnv: {A: {}, B: {file: "x", env: "Y"}, C: file: "../etc/passwd", D: file: "/abs"}`,
	`services: "svc-1": run: secretEnv: {S: sops: {file: "secrets/missing.enc.yaml", key: "a.b"}, T: sops: {file: "secrets/plain.yaml", key: "k"}}`,
	`services: "svc-0": run: port: "80"`,
	`services: "svc-1": helth: pth: "/x"`,
	`services: "svc-0": artifact: "nginx:latest"`,
	`services: "Bad_Name": {}`,
	`services: "svc-1": name: "other"`,
	`pipeline: stages: [{name: "s0", targets: ["t0", "t9"]}, {name: "s0", targets: ["t0"]}]`,
	`targets: t1: host: "nowhere"`,
	`targets: t2: runtime: kind: "podman"`,
	`services: "svc-0": strategy: {kind: "blueGreen", steps: []}`,
	`services: "svc-1": health: interval: "0s"`,
	`services: "svc-0": run: env: X: 1`,
	`services: "svc-1": run: args: [` + strings.Repeat(`"\u202e\u0000 ", `, 50) + `]`,
	`services: "svc-0": run: replicas: 1e400`,
	`services: "svc-` + strings.Repeat("x", 300) + `": {}`,
}

// TestGeneratedVerdicts loads generated repositories, valid and with the
// mistakes and hostile values above, and compares each verdict with
// testdata/verdicts.txt: for a valid one a digest of the decoded state, for
// an invalid one every error as the loader words it. The file was written
// by the loader as it was before the checks took services from one walk,
// before decodeValue and before the checks ran beside CUE's evaluation, so
// it holds those changes to the same verdicts and words. Run with -update
// after a deliberate change, and read the diff.
func TestGeneratedVerdicts(t *testing.T) {
	var got strings.Builder
	for seed := range 12 {
		base := t.TempDir()
		writeRandomRepository(t, base, uint64(seed))
		cases := [][]int{nil}
		for i := range verdictMutations {
			cases = append(cases, []int{(i + seed) % len(verdictMutations)})
		}
		cases = append(cases, []int{seed % len(verdictMutations), (seed + 7) % len(verdictMutations)})
		for _, muts := range cases {
			dir := t.TempDir()
			src, err := os.ReadFile(filepath.Join(base, "durable.cue"))
			if err != nil {
				t.Fatal(err)
			}
			var extra strings.Builder
			extra.WriteString("package infra\n\n")
			for _, m := range muts {
				extra.WriteString(verdictMutations[m] + "\n")
			}
			writeFiles(t, dir, map[string]string{
				"durable.cue":           string(src),
				"mistakes.cue":          extra.String(),
				"secrets/plain.yaml":    "k: v\n",
				"secrets/web.enc.yaml":  "k: ENC[x]\nsops:\n  mac: ENC[y]\n",
				"services-template.cue": "package infra\n\nservices: [string]: run: env: FROM_TEMPLATE: \"1\"\n",
			})
			fmt.Fprintf(&got, "== seed %d mutations %v\n%s\n", seed, muts, verdict(dir))
		}
	}
	// Many services, one of them wrong in each check beyond the schema.
	dir := t.TempDir()
	var many strings.Builder
	many.WriteString("package infra\n\n")
	for i := range 300 {
		fmt.Fprintf(&many, "services: \"m-%03d\": {artifact: \"r/m@sha256:%064d\", dependsOn: [\"m-%03d\"]}\n", i, i, (i+1)%300)
	}
	many.WriteString("services: \"m-150\": run: secretEnv: X: {}\n")
	many.WriteString("services: \"m-299\": strategy: {kind: \"canary\", steps: [{weight: 9}, {weight: 3}]}\n")
	many.WriteString("targets: t0: {runtime: kind: \"process\", traffic: {kind: \"router\", admin: \"edge\"}}\n")
	many.WriteString("pipeline: stages: [{name: \"s0\", targets: [\"t0\"]}]\n")
	writeFiles(t, dir, map[string]string{"services.cue": many.String()})
	fmt.Fprintf(&got, "== 300 services in a cycle\n%s\n", verdict(dir))

	want := filepath.Join("testdata", "verdicts.txt")
	if *update {
		if err := os.WriteFile(want, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got.String() != string(b) {
		t.Errorf("verdicts differ from %s; got:\n%s", want, got.String())
	}
}

// verdict is what loading dir gives: the errors, or a digest of the state.
func verdict(dir string) string {
	ds, err := LoadDir(dir)
	var errs Errors
	switch {
	case errors.As(err, &errs):
		return strings.ReplaceAll(errs.Error(), dir+string(filepath.Separator), "")
	case err != nil:
		return "fault: " + err.Error()
	}
	b, err := json.Marshal(ds)
	if err != nil {
		return "fault: " + err.Error()
	}
	return fmt.Sprintf("valid: %d service(s), state sha256 %x", len(ds.Services), sha256.Sum256(b))
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
