// Package archtest checks the project's import rules (DESIGN §7) on the
// source tree, so that a transport reaching into another, or the core
// reaching into a transport, fails the build's tests.
package archtest
