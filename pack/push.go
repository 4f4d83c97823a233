package pack

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push writes the artifact to ref (REPOSITORY[:TAG]) and returns it pinned
// by digest: REPOSITORY@sha256:<hex>, what a release names.
func Push(ctx context.Context, a Artifact, ref string, opts ...remote.Option) (string, error) {
	if strings.Contains(ref, "@") {
		return "", fmt.Errorf("push to %q: name a repository or a tag (REPOSITORY[:TAG]); the digest is the packed image's own: %w", ref, ErrInvalid)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		return "", fmt.Errorf("push to %q: %v; write REGISTRY/REPOSITORY[:TAG]: %w", ref, err, ErrInvalid)
	}
	d, err := a.Digest()
	if err != nil {
		return "", err
	}
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	if a.Index != nil {
		err = remote.WriteIndex(tag, a.Index, opts...)
	} else {
		err = remote.Write(tag, a.Image, opts...)
	}
	if err != nil {
		return "", fmt.Errorf("push %s to %s: %w", d, tag, err)
	}
	return tag.Context().Digest(d.String()).String(), nil
}

// RemoteBase is the base image ref, pinned by digest, from its registry: an
// image, or an index from which each platform takes its own.
func RemoteBase(ctx context.Context, ref string, opts ...remote.Option) (Base, error) {
	d, err := name.NewDigest(ref)
	if err != nil {
		return nil, fmt.Errorf("base %q: give it pinned by digest (REPOSITORY@sha256:<64 hex>; durable pin resolves a tag), so that packing again gives the same image: %w", ref, ErrInvalid)
	}
	opts = append([]remote.Option{remote.WithContext(ctx)}, opts...)
	desc, err := remote.Get(d, opts...)
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	if !desc.MediaType.IsIndex() {
		img, err := desc.Image()
		if err != nil {
			return nil, fmt.Errorf("base %s: %w", ref, err)
		}
		return func(p v1.Platform) (v1.Image, error) { return baseFor(ref, img, p) }, nil
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	return func(p v1.Platform) (v1.Image, error) { return fromIndex(ref, idx, p) }, nil
}

// baseFor checks that a single-platform base is of platform p.
func baseFor(ref string, img v1.Image, p v1.Platform) (v1.Image, error) {
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("base %s: config: %w", ref, err)
	}
	got := v1.Platform{OS: cf.OS, Architecture: cf.Architecture, Variant: cf.Variant}
	if !got.Satisfies(p) {
		return nil, fmt.Errorf("base %s is for %s, not %s; give a base of that platform, or an index: %w", ref, got, p, ErrInvalid)
	}
	return img, nil
}

// fromIndex takes platform p's image of a base index.
func fromIndex(ref string, idx v1.ImageIndex, p v1.Platform) (v1.Image, error) {
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("base %s: %w", ref, err)
	}
	for _, desc := range m.Manifests {
		if desc.Platform != nil && desc.Platform.Satisfies(p) && !desc.MediaType.IsIndex() {
			return idx.Image(desc.Digest)
		}
	}
	return nil, fmt.Errorf("base %s has no image for %s: %w", ref, p, ErrInvalid)
}
