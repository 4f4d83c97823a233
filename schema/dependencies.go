package schema

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"
)

// checkDependencies checks every service's dependsOn: each entry names a
// declared service other than itself, once, and the dependencies form no
// cycle (each cycle is reported once, at the dependency that closes it from
// its alphabetically first service). This is Go rather than a CUE
// disjunction over the service names, which costs time quadratic in their
// number.
func checkDependencies(declared fields, x *explainer) Errors {
	var errs Errors
	services := declared.names
	dependsOn := func(name string) []cue.Value {
		return listOf(declared.values[name].LookupPath(cue.MakePath(cue.Str("dependsOn"))))
	}
	edges := map[string][]string{}
	for _, name := range services {
		at := []cue.Selector{cue.Str("services"), cue.Str(name), cue.Str("dependsOn")}
		seen := map[string]bool{}
		for i, d := range dependsOn(name) {
			dep, err := d.String()
			if err != nil {
				continue
			}
			p := append(slices.Clone(at), cue.Index(i))
			switch {
			case dep == name:
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: service %q depends on itself; list only the other services it calls", pathString(p), name)))
			case !containsSorted(services, dep):
				msg := fmt.Sprintf("%s: %q is not a service of this repository; ", pathString(p), dep)
				if guess := closest(dep, services); guess != "" && guess != name {
					msg += fmt.Sprintf("did you mean %q? ", guess)
				}
				errs = append(errs, x.errorAt(p, msg+"list the names of services declared under services"))
			case seen[dep]:
				errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: %q is listed twice; list each dependency once", pathString(p), dep)))
			default:
				seen[dep] = true
				edges[name] = append(edges[name], dep)
			}
		}
	}
	for _, cycle := range cycles(services, edges) {
		from, to := cycle[0], cycle[1]
		i := 0
		p := []cue.Selector{cue.Str("services"), cue.Str(from), cue.Str("dependsOn")}
		for j, d := range dependsOn(from) {
			if s, err := d.String(); err == nil && s == to {
				i = j
				break
			}
		}
		p = append(p, cue.Index(i))
		errs = append(errs, x.errorAt(p, fmt.Sprintf("%s: the dependencies form a cycle: %s; services must be rolled out in an order, so remove one of these dependencies",
			pathString(p), strings.Join(cycle, " → "))))
	}
	return errs
}

// cycles finds the elementary cycles through the dependency graph that a
// depth-first search meets, each once, rotated to start at its smallest
// name and closed (a → b → a).
func cycles(nodes []string, edges map[string][]string) [][]string {
	const (
		unvisited = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var found [][]string
	seen := map[string]bool{}
	var visit func(n string)
	visit = func(n string) {
		state[n] = onPath
		path = append(path, n)
		for _, m := range edges[n] {
			switch state[m] {
			case unvisited:
				visit(m)
			case onPath:
				start := slices.Index(path, m)
				c := slices.Clone(path[start:])
				least := 0
				for i, s := range c {
					if s < c[least] {
						least = i
					}
				}
				c = append(c[least:], c[:least]...)
				key := strings.Join(c, "\x00")
				if !seen[key] {
					seen[key] = true
					found = append(found, append(c, c[0]))
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
	}
	for _, n := range nodes {
		if state[n] == unvisited {
			visit(n)
		}
	}
	return found
}

// containsSorted reports whether the sorted list names holds name.
func containsSorted(names []string, name string) bool {
	_, ok := slices.BinarySearch(names, name)
	return ok
}
