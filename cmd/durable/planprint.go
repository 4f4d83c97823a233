package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/durable-delivery/durable/api"
)

// printPlan prints a plan for a person: the revision, the change, the
// verdict, then per stage what each placement would do.
func printPlan(w io.Writer, p api.Plan) {
	against := "nothing applied yet"
	if p.Against != "" {
		against = "applied " + abbrev(p.Against)
	}
	fmt.Fprintf(w, "Plan of %s %q against %s\n", abbrev(p.Revision.Commit), p.Revision.Message, against)
	if len(p.Errors) > 0 {
		fmt.Fprintf(w, "Rejected: the revision does not load (%d error(s)); what runs would be unchanged\n", len(p.Errors))
		for _, e := range p.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	printPlanChange(w, p)
	for _, st := range p.Stages {
		fmt.Fprintf(w, "\nStage %s:\n", st.Name)
		for _, wait := range st.Waits {
			fmt.Fprintf(w, "  waits until %s\n", wait)
		}
		for _, pp := range st.Placements {
			printPlanPlacement(w, pp)
		}
	}
	if len(p.Removed) > 0 {
		fmt.Fprintln(w, "\nNo longer in the desired state:")
		for _, pp := range p.Removed {
			fmt.Fprintf(w, "  %s on %s (stage %s): remove %s\n", pp.Service, pp.Target, pp.Stage, strings.Join(pp.Remove, ", "))
		}
	}
	switch {
	case p.Rejected():
		fmt.Fprintln(w, "\nThe reconciler would reject this revision: what runs would be unchanged.")
	case !p.Changed:
		fmt.Fprintln(w, "\nNo change.")
	}
}

// printPlanChange prints the change classes, each service's change and
// the admission verdict.
func printPlanChange(w io.Writer, p api.Plan) {
	classes := "none"
	if len(p.Classes) > 0 {
		classes = strings.Join(p.Classes, ", ")
	}
	rollback := ""
	if p.Rollback {
		rollback = " (a rollback: every changed release is still warm)"
	}
	fmt.Fprintf(w, "Change classes: %s%s\n", classes, rollback)
	for _, sc := range p.Services {
		fmt.Fprintf(w, "  service %s %s (%s): %s", sc.Name, sc.Change, strings.Join(sc.Classes, ", "), strings.Join(sc.Fields, ", "))
		if sc.From != sc.To {
			fmt.Fprintf(w, "; release %s → %s", orNone(abbrev(sc.From)), orNone(abbrev(sc.To)))
		}
		fmt.Fprintln(w)
	}
	by := ""
	if p.Admission.Policy != "" {
		by = " by " + p.Admission.Policy
	}
	fmt.Fprintf(w, "Admission: %s%s\n", p.Admission.Result, by)
	for _, r := range p.Admission.Reasons {
		fmt.Fprintf(w, "  %s\n", r)
	}
}

// printPlanPlacement prints what one service on one target would do.
func printPlanPlacement(w io.Writer, pp api.PlanPlacement) {
	if !pp.Changed() {
		fmt.Fprintf(w, "  %s on %s: no change (serving %s)\n", pp.Service, pp.Target, orNone(abbrev(pp.Serving)))
		return
	}
	fmt.Fprintf(w, "  %s on %s: %s → %s\n", pp.Service, pp.Target, orNone(abbrev(pp.Serving)), abbrev(pp.Release))
	if len(pp.Create) > 0 {
		fmt.Fprintf(w, "    create %s\n", strings.Join(pp.Create, ", "))
	}
	if pp.SwitchBack != "" {
		fmt.Fprintf(w, "    switch back to warm %s\n", pp.SwitchBack)
	}
	if len(pp.Steps) > 0 {
		fmt.Fprintf(w, "    steps: %s\n", stepsLine(pp.Steps))
	}
	if len(pp.KeepWarm) > 0 {
		fmt.Fprintf(w, "    keep warm %s\n", strings.Join(pp.KeepWarm, ", "))
	}
	if len(pp.Remove) > 0 {
		fmt.Fprintf(w, "    remove %s\n", strings.Join(pp.Remove, ", "))
	}
}

// stepsLine is "canary 10% (bake 1m0s, 100 requests), switch 100%".
func stepsLine(steps []api.PlanStep) string {
	out := make([]string, len(steps))
	for i, s := range steps {
		switch s.Kind {
		case api.StepCanary:
			out[i] = fmt.Sprintf("canary %d%% (bake %s, %d requests)", s.Weight, s.Bake, s.Requests)
		case api.StepSwitch:
			out[i] = fmt.Sprintf("switch %d%%", s.Weight)
		case api.StepPreview:
			out[i] = "preview route"
		default:
			out[i] = "upgrade-downgrade test"
		}
	}
	return strings.Join(out, ", ")
}

// planTable is one row per placement.
func planTable(p api.Plan) table {
	t := table{header: []string{"STAGE", "SERVICE", "TARGET", "SERVING", "RELEASE", "CREATE", "SWITCH-BACK", "STEPS", "KEEP-WARM", "REMOVE"}}
	row := func(pp api.PlanPlacement) []string {
		return []string{pp.Stage, pp.Service, pp.Target, abbrev(pp.Serving), abbrev(pp.Release), strings.Join(pp.Create, ","),
			pp.SwitchBack, stepsLine(pp.Steps), strings.Join(pp.KeepWarm, ","), strings.Join(pp.Remove, ",")}
	}
	for _, st := range p.Stages {
		for _, pp := range st.Placements {
			t.rows = append(t.rows, row(pp))
		}
	}
	for _, pp := range p.Removed {
		t.rows = append(t.rows, row(pp))
	}
	return t
}

// firstLine is a commit message's subject.
func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(line)
}
