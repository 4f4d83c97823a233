// Package examples embeds the example desired-state repositories, so that the
// durable binary can lay one out anywhere (durable demo), and builds the
// quickstart's demo service as an OCI image.
//
// It must never import the reconciler: tests of every package may use it to
// make real artifacts.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed quickstart docker-haproxy fleet
var files embed.FS

// Quickstart returns the quickstart example: its desired state at the root
// and the demo service's source under app/.
func Quickstart() fs.FS { return sub("quickstart") }

// DockerHAProxy returns the docker-haproxy example: desired state for
// containers behind HAProxy, and HAProxy's bootstrap configuration.
func DockerHAProxy() fs.FS { return sub("docker-haproxy") }

// Fleet returns the fleet example: hosts of three zones, each running its
// processes through its durable agent behind its own router, staging on
// the reconciler's host.
func Fleet() fs.FS { return sub("fleet") }

func sub(dir string) fs.FS {
	s, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return s
}
