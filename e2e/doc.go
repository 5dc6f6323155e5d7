// Package e2e holds the end-to-end tests that need both transports at
// once: SSH terminal users and browser users on one hub. The transports
// never import each other; only these tests put them side by side.
package e2e
