package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/pack"
)

// packFlags are durable pack's flags.
type packFlags struct {
	spec     pack.Spec
	labels   []string
	binaries []string
	// platforms are the packed platforms, in the order given.
	platforms []string
	platform  string
	base      string
	push      string
	timeout   time.Duration
	output    *outputFlag
}

// packResult is what durable pack -o json prints.
type packResult struct {
	Ref       string   `json:"ref"`
	Digest    string   `json:"digest"`
	Platforms []string `json:"platforms"`
}

func newPackCmd() *cobra.Command {
	var f packFlags
	cmd := &cobra.Command{
		Use:   "pack [DIR|FILE] --entrypoint PATH --push REF [--env K=V] [--binary PLATFORM=PATH]... [--base REF@DIGEST]",
		Short: "Pack a program as a reproducible OCI image, push it and print it pinned by digest",
		Long: `Packs DIR's content (or FILE) under /app of an OCI image whose entrypoint runs PATH (relative:
under /app) from /app, with PORT and HOST set by the runtime (docs/artifacts.md). With --binary,
one image per PLATFORM (linux/amd64, linux/arm64, ...) holds DIR's content and that binary at the
entrypoint, and several make an OCI index. Times, owners, modes and order are fixed: packing the
same input again with the same Durable gives the same digest. Symbolic links that point out of
DIR are refused. From scratch the image runs in both runtimes when the program is static; --base
REF@DIGEST puts a base image below it (e.g. for the Docker runtime, a program that needs a libc).
Pushes to REF (REPOSITORY[:TAG], credentials from Docker's configuration) and prints
REPOSITORY@sha256:<digest>, what durable sign and durable release take.`,
		Args: maxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := f.build(cmd.Context(), args)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), f.timeout)
			defer cancel()
			ref, err := pack.Push(ctx, a, f.push, registryOptions()...)
			if err != nil {
				return packError(err)
			}
			d, _ := a.Digest()
			res := packResult{Ref: ref, Digest: d.String(), Platforms: f.platforms}
			return printOutput(cmd.OutOrStdout(), f.output.value, view{value: res, text: func(w io.Writer) { fmt.Fprintln(w, res.Ref) }})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.spec.Entrypoint, "entrypoint", "", "the program's path in the image; relative is under /app (default for FILE: /app/FILE)")
	fl.StringArrayVar(&f.spec.Args, "arg", nil, "a default argument of the program (repeat for several)")
	fl.StringArrayVar(&f.spec.Env, "env", nil, "NAME=VALUE the program starts with (repeat for several; not PORT, HOST, DURABLE_*)")
	fl.StringArrayVar(&f.labels, "label", nil, "NAME=VALUE label of the image (repeat for several)")
	fl.StringArrayVar(&f.binaries, "binary", nil, "PLATFORM=PATH: that platform's binary, packed at the entrypoint (repeat for an index)")
	fl.StringVar(&f.platform, "platform", "linux/amd64", "the image's platform, without --binary")
	fl.StringVar(&f.base, "base", "", "base image REPOSITORY@sha256:<digest> (default: none, from scratch)")
	fl.StringVar(&f.push, "push", "", "where to push: REGISTRY/REPOSITORY[:TAG] (required)")
	fl.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long fetching the base and pushing may take")
	f.output = addOutputFlag(fl, formatText, formatText, formatJSON)
	return cmd
}

// build checks the flags and packs the artifact.
func (f *packFlags) build(ctx context.Context, args []string) (pack.Artifact, error) {
	if f.push == "" {
		return pack.Artifact{}, usageError{errors.New("--push REF is required: where to push the image (REGISTRY/REPOSITORY[:TAG])")}
	}
	inputs, err := f.inputs(args)
	if err != nil {
		return pack.Artifact{}, err
	}
	if f.spec.Labels, err = labels(f.labels); err != nil {
		return pack.Artifact{}, err
	}
	var base pack.Base
	if f.base != "" {
		ctx, cancel := context.WithTimeout(ctx, f.timeout)
		defer cancel()
		if base, err = pack.RemoteBase(ctx, f.base, registryOptions()...); err != nil {
			return pack.Artifact{}, packError(err)
		}
	}
	a, err := pack.Build(f.spec, inputs, base)
	if err != nil {
		return pack.Artifact{}, packError(err)
	}
	return a, nil
}

// inputs are the platforms' inputs the arguments and flags give.
func (f *packFlags) inputs(args []string) ([]pack.Input, error) {
	content := ""
	if len(args) == 1 {
		content = args[0]
	}
	if len(f.binaries) == 0 {
		if content == "" {
			return nil, usageError{errors.New("give DIR or FILE to pack, or --binary PLATFORM=PATH")}
		}
		p, err := pack.ParsePlatform(f.platform)
		if err != nil {
			return nil, usageError{err}
		}
		if fi, err := os.Stat(content); err == nil && !fi.IsDir() && f.spec.Entrypoint == "" {
			f.spec.Entrypoint = filepath.Base(content)
		}
		f.platforms = []string{p.String()}
		return []pack.Input{{Platform: p, Content: content}}, nil
	}
	var inputs []pack.Input
	for _, b := range f.binaries {
		plat, file, ok := strings.Cut(b, "=")
		if !ok || file == "" {
			return nil, usageError{fmt.Errorf("--binary %q: write PLATFORM=PATH, e.g. linux/arm64=bin/web-arm64", b)}
		}
		p, err := pack.ParsePlatform(plat)
		if err != nil {
			return nil, usageError{fmt.Errorf("--binary %q: %w", b, err)}
		}
		inputs = append(inputs, pack.Input{Platform: p, Content: content, Binary: file})
		f.platforms = append(f.platforms, p.String())
	}
	if f.spec.Entrypoint == "" {
		return nil, usageError{errors.New("--binary needs --entrypoint: the path the binary takes in the image")}
	}
	return inputs, nil
}

// labels reads NAME=VALUE labels.
func labels(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, l := range list {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--label %q: write NAME=VALUE", l)}
		}
		out[k] = v
	}
	return out, nil
}

// packError is a usage error when the input was refused.
func packError(err error) error {
	if errors.Is(err, pack.ErrInvalid) {
		return usageError{err}
	}
	return err
}

// registryOptions are how the commands that write to a registry reach it:
// credentials from the user's Docker configuration.
func registryOptions() []remote.Option {
	return []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain), remote.WithUserAgent("durable")}
}
