package schema

import (
	"reflect"
	"testing"
)

// The quick evaluation and the explained one give the same desired state
// for every example, and the quick one does succeed on them.
func TestQuickPathMatchesExplained(t *testing.T) {
	for _, dir := range []string{"../examples/quickstart", "../examples/docker-haproxy", "../examples/multi-zone"} {
		t.Run(dir, func(t *testing.T) {
			fsys, inside, err := dirFS(dir)
			if err != nil {
				t.Fatal(err)
			}
			mod, errs := readModule(fsys, inside)
			var b budget
			sources, more := b.read(fsys, ".", isSource, inside)
			files, parseErrs := parseSources(sources, mod)
			if errs != nil || more != nil || parseErrs != nil {
				t.Fatal(errs, more, parseErrs)
			}
			pkgs := &packages{fsys: fsys, checkLink: inside, mod: mod, budget: &b}
			quick, ok := quickEvaluate(files, pkgs)
			if !ok {
				t.Fatal("the quick evaluation failed on a valid repository")
			}
			explained, errs, err := evaluate(files, pkgs)
			if err != nil || errs != nil {
				t.Fatal(err, errs)
			}
			if !reflect.DeepEqual(quick, explained) {
				t.Errorf("quick:\n%+v\nexplained:\n%+v", quick, explained)
			}
		})
	}
}
