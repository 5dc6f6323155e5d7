// Package testkit holds what the tests of several packages share: a
// person at an SSH terminal (a real client with a PTY, read through a
// terminal emulator), a headless Chromium and a page of the web client,
// and bounded waits. Only tests import it; it is an ordinary package so
// that tests in different packages can use one copy.
package testkit
