package process

import (
	"os"
	"strings"
	"testing"
)

// TestArtifactContractIsDocumented holds the pages a user reads to what
// this runtime does with an image: docs/adapters.md states the contract
// (the variables an instance is given, that run.port does not apply, what
// runs and from where), and the README's "Using it" says it in short.
func TestArtifactContractIsDocumented(t *testing.T) {
	read := func(name string) string {
		t.Helper()
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	adapters := read("../../docs/adapters.md")
	_, contract, ok := strings.Cut(adapters, "## The process runtime's artifacts")
	if !ok {
		t.Fatal(`docs/adapters.md has no section "The process runtime's artifacts"`)
	}
	contract, _, _ = strings.Cut(contract, "\n## ")
	for _, want := range []string{"`" + envPort + "`", "`127.0.0.1`", "`run.port`", "ENTRYPOINT", "CMD", "`run.args`", "WORKDIR",
		"`run.env`", "statically linked", "SIGTERM", "instance-N.log",
		"`" + envService + "`", "`" + envRelease + "`", "`" + envSet + "`", "`" + envInstance + "`"} {
		if !strings.Contains(contract, want) {
			t.Errorf("docs/adapters.md's process runtime section does not mention %s", want)
		}
	}
	readme := read("../../README.md")
	_, using, ok := strings.Cut(readme, "## Using it")
	if !ok {
		t.Fatal(`README.md has no "Using it" section`)
	}
	using, _, _ = strings.Cut(using, "\n## ")
	for _, want := range []string{"`" + envPort + "`", "`run.port`", "docs/adapters.md"} {
		if !strings.Contains(using, want) {
			t.Errorf("the README's \"Using it\" does not mention %s", want)
		}
	}
}
