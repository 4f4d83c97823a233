// Package pack makes the OCI artifacts Durable's runtimes run, reproducibly:
// the same files, entrypoint and settings packed by the same Durable build
// give the same digest, whenever and wherever they are packed.
//
// A packed image holds one layer: the packed folder's (or file's) content
// under Dir (/app), and, per platform, a binary at the entrypoint. Every
// entry has the epoch as its time, root as its owner, 0755 (directories and
// executables) or 0644 as its mode, and entries are written in name order;
// the image's config carries no time either. Several platforms make an OCI
// index of one image each, in the order of the platforms' names. A base
// image, given by digest, goes below the layer (what the Docker runtime
// needs when the program is not static); without one the image starts from
// scratch, which both the process and the Docker runtime run.
//
// What it refuses, naming the path: a symbolic link that points out of the
// packed folder (absolute, or climbing out with ..), a device, socket or
// pipe, more than MaxEntries entries or MaxLayerBytes bytes (what the process
// runtime would refuse to unpack), an environment variable that is not
// NAME=VALUE, is oversized, or is one the runtimes set themselves (PORT,
// HOST, DURABLE_*), and a base not pinned by digest.
//
// It never signs (signing does) and imports nothing of the project.
package pack
