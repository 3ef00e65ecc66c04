package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"gohub/internal/auth/firstuse"
	"gohub/internal/config"
	"gohub/internal/hub"
	"gohub/internal/proxy"
	"gohub/internal/store"
)

const defaultConfigFile = "gohub_config.yaml"

type globals struct {
	configPath string
	debug      bool
}

func newRoot() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "gohub",
		Short:         "JupyterHub, rebuilt in Go",
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE:          func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), g) },
	}
	root.PersistentFlags().StringVarP(&g.configPath, "config", "f", defaultConfigFile, "config file (traitlets shape, YAML)")
	root.PersistentFlags().BoolVar(&g.debug, "debug", false, "log at debug level")
	root.AddCommand(
		&cobra.Command{Use: "serve", Short: "Run the hub (the default command)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error { return serve(cmd.Context(), g) }},
		generateConfigCmd(),
		migrateConfigCmd(),
		proxy.Command(),
		firstuseImportCmd(g),
		tokenCmd(g),
		userCmd(g),
		&cobra.Command{Use: "upgrade-db", Short: "Apply pending database migrations", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				ad, err := openAdmin(cmd.Context(), g, true)
				if err != nil {
					return err
				}
				defer ad.Close()
				v, err := ad.DB.Version(cmd.Context())
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "database is at schema version %d\n", v)
				return nil
			}},
		&cobra.Command{Use: "version", Short: "Print the version", Args: cobra.NoArgs,
			Run: func(cmd *cobra.Command, args []string) {
				fmt.Fprintf(cmd.OutOrStdout(), "gohub %s (JupyterHub %s protocol, database schema %d)\n",
					hub.Version, hub.JupyterHubVersion, store.LatestVersion())
			}},
	)
	return root
}

// loadFile reads the config: the default file may be absent (all defaults), a named one may not.
func loadFile(g *globals) (*config.File, error) {
	f, err := config.Load(g.configPath)
	if err != nil && errors.Is(err, fs.ErrNotExist) && g.configPath == defaultConfigFile {
		return config.Parse(defaultConfigFile, nil)
	}
	return f, err
}

func logger(g *globals) *slog.Logger {
	lvl := slog.LevelInfo
	if g.debug {
		lvl = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

func serve(ctx context.Context, g *globals) error {
	file, err := loadFile(g)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads the config: user lists and revocation apply without a restart.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	h, err := hub.New(ctx, file, hub.Options{Logger: logger(g), ReloadSignals: hup,
		LoadConfig: func() (*config.File, error) { return loadFile(g) }})
	if err != nil {
		return err
	}
	defer h.Close()
	ls, err := h.Listen()
	if err != nil {
		return err
	}
	return h.Serve(ctx, ls)
}

func openAdmin(ctx context.Context, g *globals, upgrade bool) (*hub.Admin, error) {
	file, err := loadFile(g)
	if err != nil {
		return nil, err
	}
	return hub.OpenAdmin(ctx, file, upgrade)
}

func generateConfigCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "generate-config",
		Short: "Print a config file with every key, its default and what it does",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := cmd.OutOrStdout()
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return config.Generate(w, hub.Schema())
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "-", "write to this file instead of standard output (never overwrites)")
	return c
}

func tokenCmd(g *globals) *cobra.Command {
	var req hub.TokenRequest
	var scopes string
	c := &cobra.Command{
		Use:   "token <user>",
		Short: "Mint an API token for a user and print it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			req.User = args[0]
			if scopes != "" {
				for _, s := range strings.Split(scopes, ",") {
					if s = strings.TrimSpace(s); s != "" {
						req.Scopes = append(req.Scopes, s)
					}
				}
			}
			tok, err := ad.MintToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
	c.Flags().StringVar(&req.Note, "note", "", "a note to remember the token by")
	c.Flags().DurationVar(&req.ExpiresIn, "expires-in", 0, "lifetime, e.g. 24h (default: never expires)")
	c.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes (default: all of the user's, \"inherit\")")
	return c
}

func userCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "user", Short: "Add, list, delete users and set their admin flag"}
	var admin bool
	add := &cobra.Command{
		Use: "add <name>...", Short: "Create users", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			var names []string
			for _, a := range args {
				n, err := ad.UserName(a)
				if err != nil {
					return err
				}
				if err := ad.AddUser(cmd.Context(), n); err != nil {
					return fmt.Errorf("add %s: %w", n, err)
				}
				names = append(names, n)
			}
			created, err := ad.DB.CreateUsers(cmd.Context(), names, admin)
			if err != nil {
				return err
			}
			for _, u := range created {
				fmt.Fprintf(cmd.OutOrStdout(), "created %s\n", u.Name)
			}
			if len(created) < len(names) {
				fmt.Fprintf(cmd.OutOrStdout(), "%d already existed\n", len(names)-len(created))
			}
			return nil
		},
	}
	add.Flags().BoolVar(&admin, "admin", false, "make the new users admins")
	list := &cobra.Command{
		Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			users, _, err := ad.DB.ListUsers(cmd.Context(), store.UserQuery{Sort: "name"})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADMIN\tGROUPS\tLAST ACTIVITY")
			for _, u := range users {
				last := "never"
				if u.LastActivity != nil {
					last = u.LastActivity.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%v\t%s\t%s\n", u.Name, u.Admin, strings.Join(u.Groups, ","), last)
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use: "delete <name>...", Short: "Delete users (with their tokens and server records)", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			for _, a := range args {
				n, err := ad.UserName(a)
				if err != nil {
					return err
				}
				if err := ad.DB.DeleteUser(cmd.Context(), n); err != nil {
					return fmt.Errorf("delete %s: %w", n, err)
				}
				if err := ad.DeleteUser(cmd.Context(), n); err != nil {
					return fmt.Errorf("delete %s: the authenticator's clean-up failed: %w", n, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", n)
			}
			return nil
		},
	}
	setAdmin := &cobra.Command{
		Use: "set-admin <name> true|false", Short: "Grant or remove admin rights", Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var val bool
			switch strings.ToLower(args[1]) {
			case "true", "yes", "1":
				val = true
			case "false", "no", "0":
			default:
				return fmt.Errorf("set-admin: want true or false, got %q", args[1])
			}
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			n, err := ad.UserName(args[0])
			if err != nil {
				return err
			}
			u, err := ad.DB.GetUser(cmd.Context(), n)
			if err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			if _, err := ad.DB.UpdateUser(cmd.Context(), u.ID, store.UserUpdate{Admin: &val}); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s admin=%v\n", n, val)
			return nil
		},
	}
	setPassword := &cobra.Command{
		Use:   "set-password <name>",
		Short: "Set a user's password (firstuse, native): the way to give the first admin one",
		Long: "Reads the new password from standard input (one line), or asks for it twice when standard\n" +
			"input is a terminal, and sets it for the user with the configured authenticator's rules\n" +
			"(firstuse, native, or multi with such a source). With native the account becomes an\n" +
			"authorized sign-up, replacing anything someone else signed up with under that name. The\n" +
			"user's browser sessions end. The hub may be running.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(cmd.InOrStdin(), cmd.ErrOrStderr(), args[0])
			if err != nil {
				return err
			}
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			n, err := ad.SetPassword(cmd.Context(), args[0], pw)
			if err != nil {
				return fmt.Errorf("set-password: %w", err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "password of %s set\n", n)
			return nil
		},
	}
	c.AddCommand(add, list, del, setAdmin, setPassword)
	return c
}

// maxPasswordInput bounds what set-password reads from a pipe.
const maxPasswordInput = 4096

// readPassword reads a new password: asked twice without echo when in is a terminal, else one
// line of in (a final newline is not part of it).
func readPassword(in io.Reader, prompt io.Writer, name string) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(prompt, "New password for %s: ", name)
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the two passwords differ")
		}
		if len(a) == 0 {
			return "", errors.New("empty password")
		}
		return string(a), nil
	}
	data, err := io.ReadAll(io.LimitReader(in, maxPasswordInput+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxPasswordInput {
		return "", fmt.Errorf("the password on standard input is longer than %d bytes", maxPasswordInput)
	}
	line, rest, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if strings.TrimSpace(rest) != "" {
		return "", errors.New("standard input has more than one line; give the password alone")
	}
	if line == "" {
		return "", errors.New("empty password on standard input")
	}
	return line, nil
}

func firstuseImportCmd(g *globals) *cobra.Command {
	var overwrite bool
	c := &cobra.Command{
		Use:   "firstuse-import <passwords.dbm>",
		Short: "Import FirstUseAuthenticator's passwords (bcrypt hashes, kept as they are)",
		Long: "Reads the passwords.dbm of JupyterHub's FirstUseAuthenticator (dbm.dumb natively; gdbm and\n" +
			"ndbm through python3's dbm module) and stores each hash for the user of that name, so\n" +
			"people keep their passwords when the hub moves to gohub's firstuse authenticator.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ad, err := openAdmin(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			defer ad.Close()
			rep, err := firstuse.ImportDBM(cmd.Context(), ad.DB, args[0], firstuse.ImportOptions{
				Normalize: ad.Normalize, Check: ad.CheckUsername, Overwrite: overwrite})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "imported %d password(s)\n", len(rep.Imported))
			if len(rep.Kept) > 0 {
				fmt.Fprintf(out, "kept the existing password of: %s\n", strings.Join(rep.Kept, ", "))
			}
			if len(rep.Invalid) > 0 {
				fmt.Fprintf(out, "skipped (not a hash gohub reads, or a bad name): %s\n", quoteAll(rep.Invalid))
			}
			return nil
		},
	}
	c.Flags().BoolVar(&overwrite, "overwrite", false, "replace passwords gohub already has")
	return c
}

// quoteAll lists names Go-quoted, so control and invisible characters in a skipped name show.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}
