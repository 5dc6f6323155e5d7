module parley

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/ergochat/confusables v0.0.0-20201108231250-4ab98ab61fb1
	github.com/rivo/uniseg v0.4.7
	golang.org/x/crypto v0.58.0
	golang.org/x/text v0.43.0
)
