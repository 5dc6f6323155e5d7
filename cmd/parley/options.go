package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"parley/config"
)

// envPrefix starts the environment variable of each setting flag:
// --ssh-addr is PARLEY_SSH_ADDR.
const envPrefix = "PARLEY_"

// options are what the command line and the environment ask for.
type options struct {
	configPath string
	sshAddr    string
	httpAddr   string
	hostKeyDir string
	logFormat  string

	version       bool
	hashPassword  bool
	printDefault  bool
	checkConfig   string
	fromFlagOrEnv map[string]bool // setting flags given on the command line or in the environment
}

// settingFlags may also come from the environment; the others are actions.
var settingFlags = []string{"config", "ssh-addr", "http-addr", "hostkey-dir", "log-format"}

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseOptions reads the command line, then fills the setting flags it
// left out from PARLEY_* variables. It returns flag.ErrHelp after printing
// help for --help.
func parseOptions(args []string, lookupEnv func(string) (string, bool), stderr io.Writer) (*options, error) {
	def := config.Default().Server
	o := &options{fromFlagOrEnv: map[string]bool{}}
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "read settings from this TOML `file` (see --print-default-config)")
	fs.StringVar(&o.sshAddr, "ssh-addr", def.SSHAddr, "listen for SSH on this `address`")
	fs.StringVar(&o.httpAddr, "http-addr", def.HTTPAddr, "listen for HTTP on this `address` (\"\" turns it off)")
	fs.StringVar(&o.hostKeyDir, "hostkey-dir", def.HostKeyDir, "keep the SSH host keys in this `folder`")
	fs.StringVar(&o.logFormat, "log-format", "text", "log as `text` or json")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.BoolVar(&o.printDefault, "print-default-config", false, "print a commented config file holding the defaults and exit")
	fs.StringVar(&o.checkConfig, "check-config", "", "check the config `file` and exit: 0 when valid, else 1 with the line at fault")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: parley [flags]\n       parley hash-password   (prints the bcrypt hash of a room password)\n\n"+
			"Parley is a chat server reached by ssh and by web browser.\n\nFlags:\n")
		fs.PrintDefaults()
		fmt.Fprint(stderr, "\nEach setting flag can also be set in the environment:")
		for _, name := range settingFlags {
			fmt.Fprintf(stderr, " %s", envName(name))
		}
		fmt.Fprint(stderr, ".\nPrecedence: flags, then environment, then the config file, then defaults.\n")
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	switch {
	case fs.NArg() == 1 && fs.Arg(0) == "hash-password":
		o.hashPassword = true
	case fs.NArg() > 0:
		fs.Usage()
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) { o.fromFlagOrEnv[f.Name] = true })
	for _, name := range settingFlags {
		if o.fromFlagOrEnv[name] {
			continue
		}
		if v, ok := lookupEnv(envName(name)); ok {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("%s: %w", envName(name), err)
			}
			o.fromFlagOrEnv[name] = true
		}
	}
	if o.logFormat != "text" && o.logFormat != "json" {
		return nil, fmt.Errorf("log format %q: use text or json", o.logFormat)
	}
	return o, nil
}

// settings merges every source: flags, then environment, then the config
// file, then the defaults.
func (o *options) settings() (config.Config, error) {
	cfg := config.Default()
	if o.configPath != "" {
		var err error
		if cfg, err = config.Load(o.configPath); err != nil {
			return config.Config{}, err
		}
	}
	override := func(flagName string, dst *string, v string) {
		if o.fromFlagOrEnv[flagName] {
			*dst = v
		}
	}
	override("ssh-addr", &cfg.Server.SSHAddr, o.sshAddr)
	override("http-addr", &cfg.Server.HTTPAddr, o.httpAddr)
	override("hostkey-dir", &cfg.Server.HostKeyDir, o.hostKeyDir)
	if cfg.Server.SSHAddr == "" || cfg.Server.HostKeyDir == "" {
		return config.Config{}, errors.New("the SSH address and the host key folder must not be empty")
	}
	return cfg, nil
}
