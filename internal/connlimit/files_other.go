//go:build !unix

package connlimit

// FileLimit is 0 where the process's file limit cannot be read.
func FileLimit() int { return 0 }
