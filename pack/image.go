package pack

import (
	"archive/tar"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Artifact is a packed image, or an index of one image per platform.
type Artifact struct {
	Image v1.Image
	Index v1.ImageIndex
}

// Digest is the artifact's manifest digest, what a release pins.
func (a Artifact) Digest() (v1.Hash, error) {
	if a.Index != nil {
		return a.Index.Digest()
	}
	return a.Image.Digest()
}

// Base gives the image a platform's image is built on: nil for scratch.
type Base func(v1.Platform) (v1.Image, error)

// Build packs one image per input, and an index of them when there is more
// than one.
func Build(s Spec, inputs []Input, base Base) (Artifact, error) {
	entry, err := checkSpec(s)
	if err != nil {
		return Artifact{}, err
	}
	if len(inputs) == 0 {
		return Artifact{}, fmt.Errorf("nothing to pack: give a folder, a file or a binary per platform: %w", ErrInvalid)
	}
	inputs = slices.Clone(inputs)
	slices.SortFunc(inputs, func(a, b Input) int { return strings.Compare(a.Platform.String(), b.Platform.String()) })
	for i := 1; i < len(inputs); i++ {
		if inputs[i].Platform.String() == inputs[i-1].Platform.String() {
			return Artifact{}, fmt.Errorf("platform %s given twice: %w", inputs[i].Platform, ErrInvalid)
		}
	}
	images := make([]v1.Image, len(inputs))
	for i, in := range inputs {
		if images[i], err = buildImage(s, entry, in, base); err != nil {
			return Artifact{}, fmt.Errorf("%s: %w", in.Platform, err)
		}
	}
	if len(images) == 1 {
		return Artifact{Image: images[0]}, nil
	}
	adds := make([]mutate.IndexAddendum, len(images))
	for i, img := range images {
		p := inputs[i].Platform
		adds[i] = mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}}
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	return Artifact{Index: idx}, nil
}

// buildImage packs one platform's image: the base's layers, then one of
// the input's files, and a config that runs the entrypoint from Dir.
func buildImage(s Spec, entry string, in Input, base Base) (v1.Image, error) {
	t := tree{}
	if in.Content != "" {
		if err := t.addContent(in.Content); err != nil {
			return nil, err
		}
	}
	name := strings.TrimPrefix(entry, "/")
	if in.Binary != "" {
		if err := t.addFile(name, in.Binary, true); err != nil {
			return nil, err
		}
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if base != nil {
		b, err := base(in.Platform)
		if err != nil {
			return nil, err
		}
		img = b
	} else if e, ok := t[name]; !ok || e.typ != tar.TypeReg || e.mode != 0o755 {
		return nil, fmt.Errorf("entrypoint %s is not an executable file of the packed content (%s); pack the program there, or pass --binary: %w", entry, t.listing(), ErrInvalid)
	}
	layer, err := t.layer(layerMediaType(img))
	if err != nil {
		return nil, err
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		return nil, err
	}
	return configure(img, s, entry, in.Platform)
}

// addContent adds a folder's content under Dir, or one file as Dir/<name>.
func (t tree) addContent(src string) error {
	fi, err := statContent(src)
	if err != nil {
		return err
	}
	prefix := strings.TrimPrefix(Dir, "/")
	t.addParents(prefix + "/x")
	if fi.IsDir() {
		return t.addFolder(prefix, src)
	}
	return t.addFile(path.Join(prefix, fi.Name()), src, false)
}

// listing names a few of the packed files, to help find the entrypoint.
func (t tree) listing() string {
	var files []string
	for _, n := range slices.Sorted(maps.Keys(t)) {
		if t[n].typ == tar.TypeReg {
			files = append(files, "/"+n)
		}
	}
	if len(files) == 0 {
		return "no files packed"
	}
	if len(files) > 5 {
		files = append(files[:5], "…")
	}
	return "packed: " + strings.Join(files, ", ")
}
