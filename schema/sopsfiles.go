package schema

import (
	"bytes"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"

	"cuelang.org/go/cue"
)

// readSopsFiles gives each SOPS secret reference the encrypted file it names,
// read from the same revision as the desired state, so that the reconciler
// decrypts exactly what was committed. The file must be a regular file of the
// repository (a link out of the tree is refused), within MaxFileBytes, and
// carry SOPS metadata; its values are not looked at here.
func readSopsFiles(fsys fs.FS, checkLink linkCheck, ds *DesiredState, x *explainer) Errors {
	var errs Errors
	read := map[string][]byte{}
	failed := map[string]error{}
	for _, svcName := range slices.Sorted(maps.Keys(ds.Services)) {
		svc := ds.Services[svcName]
		for _, env := range slices.Sorted(maps.Keys(svc.Run.SecretEnv)) {
			ref := svc.Run.SecretEnv[env]
			if ref.Sops == nil {
				continue
			}
			file := path.Clean(ref.Sops.File)
			data, ok := read[file]
			err := failed[file]
			if !ok && err == nil {
				data, err = readSopsFile(fsys, checkLink, file)
				if err != nil {
					failed[file] = err
				} else {
					read[file] = data
				}
			}
			if err != nil {
				sels := []cue.Selector{cue.Str("services"), cue.Str(svcName), cue.Str("run"), cue.Str("secretEnv"), cue.Str(env), cue.Str("sops"), cue.Str("file")}
				errs = append(errs, x.errorAt(sels, fmt.Sprintf("%s: %s %v", pathString(sels), file, err)))
				continue
			}
			ref.Sops.Ciphertext = data
		}
	}
	return errs
}

// readSopsFile reads one SOPS file of the repository.
func readSopsFile(fsys fs.FS, checkLink linkCheck, name string) ([]byte, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, fmt.Errorf("is not a path inside the repository; write it from the repository root, e.g. \"secrets/web.enc.yaml\"")
	}
	if checkLink != nil {
		if err := checkLink(name); err != nil {
			return nil, err
		}
	}
	if _, err := fs.Stat(fsys, name); err != nil {
		return nil, fmt.Errorf("is not in the repository; encrypt the file with sops and commit it there")
	}
	data, err := readSource(fsys, name)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(data, []byte("sops")) || !bytes.Contains(data, []byte("mac")) {
		return nil, fmt.Errorf("has no SOPS metadata; encrypt it with sops (sops --encrypt --age RECIPIENT --in-place %s) before committing it", name)
	}
	return data, nil
}
