package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"gohub/internal/hub"
	"gohub/internal/migrate"
)

func migrateConfigCmd() *cobra.Command {
	var out, python string
	var force bool
	c := &cobra.Command{
		Use:   "migrate-config [jupyterhub_config.py]",
		Short: "Convert a JupyterHub jupyterhub_config.py into a gohub config file",
		Long: "Reads a JupyterHub config file (default ./jupyterhub_config.py) and writes the equivalent\n" +
			"gohub config (YAML, one section per class). Settings gohub does not support are written\n" +
			"commented out with a note, and listed on standard error.\n\n" +
			"SECURITY: the config file is Python and is EXECUTED (by python3 -I), exactly as JupyterHub\n" +
			"itself runs it: only convert files you trust. JupyterHub is not imported; imports of\n" +
			"jupyterhub, oauthenticator and other common packages get stand-ins that only know class names.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "jupyterhub_config.py"
			if len(args) == 1 {
				in = args[0]
			}
			if _, err := os.Stat(in); err != nil {
				return err
			}
			res, err := migrate.Convert(cmd.Context(), in, migrate.Options{Python: python, Schema: hub.Schema()})
			if err != nil {
				return err
			}
			if out == "" || out == "-" {
				if _, err := cmd.OutOrStdout().Write(res.YAML); err != nil {
					return err
				}
			} else {
				flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
				if force {
					flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
				}
				f, err := os.OpenFile(out, flags, 0o600)
				if errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("%s exists; use --force to overwrite it", out)
				}
				if err != nil {
					return err
				}
				if _, err := f.Write(res.YAML); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
			}
			errw := cmd.ErrOrStderr()
			bad := res.Unsupported()
			fmt.Fprintf(errw, "converted %d of %d settings from %s\n", len(res.Settings)-len(bad), len(res.Settings), in)
			if len(bad) > 0 {
				fmt.Fprintf(errw, "%d not supported by gohub (written commented out):\n", len(bad))
				for _, s := range bad {
					fmt.Fprintf(errw, "  %s:%d: %s.%s: %s\n", in, s.Line, s.Class, s.Trait, s.Unsupported)
				}
			}
			return nil
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "write to this file instead of standard output")
	c.Flags().BoolVar(&force, "force", false, "overwrite the output file if it exists")
	c.Flags().StringVar(&python, "python", "python3", "the Python 3 interpreter that runs the config file")
	return c
}
