package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"

	"github.com/durable-delivery/durable/schema"
)

func newSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schema",
		Short: "Export the desired-state schema as a CUE module, or print its reference",
		Long: `The desired-state schema is embedded in this binary. export writes it as a CUE module
that a repository can depend on, to check itself with cue vet; doc prints the Markdown
reference of every field (docs/schema.md).`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return usageError{errors.New("name a subcommand: export or doc")}
		},
	}
	cmd.AddCommand(newSchemaExportCmd(), newSchemaDocCmd(), &cobra.Command{
		Use:    "serve-isolated",
		Short:  "Evaluate one revision read as a tar stream on stdin (durable run's child process)",
		Hidden: true,
		Args:   exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return schema.ServeIsolated(cmd.InOrStdin(), cmd.OutOrStdout())
		},
	})
	return cmd
}

func newSchemaExportCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "export DIR",
		Short: "Write the schema as the CUE module " + schema.ModulePath + " into DIR",
		Long: `Writes DIR/cue.mod/module.cue (module ` + schema.ModulePath + `) and DIR/schema.cue
(package schema, the schema this binary enforces), so that a repository can import
"durable.dev/schema" and be checked with cue vet; docs/schema.md shows the files to add.
DIR must be absent, empty or an earlier export: nothing else is overwritten.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := checkExportDir(dir); err != nil {
				return err
			}
			files, err := schema.Module()
			if err != nil {
				return err
			}
			for _, name := range slices.Sorted(maps.Keys(files)) {
				path := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					return err
				}
				if err := os.WriteFile(path, files[name], 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: CUE module %s (cue.mod/module.cue, schema.cue)\n", dir, schema.ModulePath)
			return nil
		},
	}
}

// checkExportDir refuses to write into a directory that holds anything but
// an earlier export, such as the root of the repository itself, whose own
// cue.mod/module.cue would be overwritten.
func checkExportDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && len(entries) == 0) {
		return nil
	}
	if err != nil {
		return err
	}
	mod, err := os.ReadFile(filepath.Join(dir, "cue.mod", "module.cue"))
	if err == nil && bytes.Contains(mod, fmt.Appendf(nil, "module: %q", schema.ModulePath)) {
		return nil
	}
	return fmt.Errorf("%s is not empty and holds no earlier export of the schema; export into a directory of its own, e.g. %s",
		dir, filepath.Join(dir, "durable-schema"))
}

func newSchemaDocCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "doc",
		Short: "Print the Markdown reference of the schema (docs/schema.md)",
		Long: `Prints the reference of every field of the desired-state schema, generated from the
schema itself: path, type, default, description and the advice Durable prints when a
value is rejected. From the source tree, regenerate docs/schema.md with:

    ` + schema.ReferenceCommand,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			md, err := schema.Reference()
			if err != nil {
				return err
			}
			if output == "" || output == "-" {
				_, err := cmd.OutOrStdout().Write(md)
				return err
			}
			return os.WriteFile(output, md, 0o644)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write the reference to `FILE` instead of standard output")
	return cmd
}
