module parley

go 1.26.8

require (
	github.com/chromedp/chromedp v0.23.0
	github.com/ergochat/confusables v0.0.0-20201108231250-4ab98ab61fb1
	github.com/gorilla/websocket v1.5.3
	github.com/rivo/uniseg v0.4.7
	golang.org/x/crypto v0.58.0
	golang.org/x/text v0.43.0
	rsc.io/qr v0.2.0
)

require (
	github.com/chromedp/cdproto v0.159.0 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	golang.org/x/net v0.60.0 // indirect
)
