package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of CPU times in /proc/PID/stat; it is 100
// on every Linux architecture Go supports.
const clockTicks = 100

// procSample is a process's CPU time and memory at one moment.
type procSample struct {
	CPU time.Duration // user + system
	RSS int64         // resident set, bytes
	HWM int64         // peak resident set, bytes
}

// sampleProc reads /proc/PID/stat and /proc/PID/status.
func sampleProc(pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procSample{}, err
	}
	// The command name is in parentheses and may hold spaces: fields are
	// counted after its closing parenthesis.
	end := bytes.LastIndexByte(stat, ')')
	if end < 0 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(string(stat[end+1:]))
	// utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
	if len(fields) < 13 {
		return procSample{}, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return procSample{}, fmt.Errorf("/proc/%d/stat: bad cpu times", pid)
	}
	s := procSample{CPU: time.Duration(utime+stime) * time.Second / clockTicks}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procSample{}, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch key {
		case "VmRSS":
			s.RSS = parseKB(val)
		case "VmHWM":
			s.HWM = parseKB(val)
		}
	}
	return s, sc.Err()
}

// procSamples are several processes' samples, in the order asked.
type procSamples []procSample

func sampleProcs(pids []int) (procSamples, error) {
	ss := make(procSamples, len(pids))
	for i, pid := range pids {
		var err error
		if ss[i], err = sampleProc(pid); err != nil {
			return nil, fmt.Errorf("server pid %d: %w", pid, err)
		}
	}
	return ss, nil
}

// sum adds the processes up: one server made of several nodes. HWM is
// the sum of each one's peak, an upper bound of the peak together.
func (ss procSamples) sum() procSample {
	var t procSample
	for _, s := range ss {
		t.CPU += s.CPU
		t.RSS += s.RSS
		t.HWM += s.HWM
	}
	return t
}

func parseKB(v string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
	return n * 1024
}

// selfCPU is the CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ensureFileLimit raises this process's soft limit of open files so that
// conns connections fit, or says why they cannot.
func ensureFileLimit(conns int) error {
	need := uint64(conns) + fileMargin
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= need {
		return nil
	}
	if lim.Max < need {
		return fmt.Errorf("%d connections need about %d open files, but the hard limit (ulimit -Hn) is %d", conns, need, lim.Max)
	}
	lim.Cur = need
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
}

// fileMargin is the open files the tool needs besides its connections.
const fileMargin = 64
