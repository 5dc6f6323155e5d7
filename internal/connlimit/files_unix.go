//go:build unix

package connlimit

import "syscall"

// FileLimit is how many files the process may have open (the soft
// RLIMIT_NOFILE, which Go raises to the hard limit at start), 0 if
// unknown.
func FileLimit() int {
	var r syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r) != nil || r.Cur > 1<<30 {
		return 0
	}
	return int(r.Cur)
}
