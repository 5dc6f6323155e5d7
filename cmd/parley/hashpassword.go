package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"parley/core"
)

const (
	maxPasswordChars = 72 // what /join accepts as a room password
	bcryptMaxBytes   = 72 // what bcrypt hashes
)

// hashPassword reads a room password and prints the bcrypt hash that goes
// in a room's password_hash. On a terminal it asks twice without echo;
// otherwise it reads the first line of stdin, so scripts can pipe it in.
func hashPassword(stdin *os.File, stdout, stderr io.Writer) int {
	var password string
	var err error
	if term.IsTerminal(int(stdin.Fd())) {
		password, err = askTwice(stdin, stderr)
	} else {
		password, err = firstLine(stdin)
	}
	if err == nil {
		err = checkPassword(password)
	}
	var hash []byte
	if err == nil {
		hash, err = bcrypt.GenerateFromPassword([]byte(password), bcrypt.DefaultCost)
	}
	if err != nil {
		fmt.Fprintln(stderr, "parley hash-password:", err)
		return 1
	}
	fmt.Fprintln(stdout, string(hash))
	return 0
}

// checkPassword refuses a password no one could type into /join.
func checkPassword(password string) error {
	_, err := core.CleanMessage(password, maxPasswordChars)
	if errors.Is(err, core.ErrEmpty) {
		return errors.New("the password is empty")
	}
	if err != nil {
		return fmt.Errorf("unusable password: %w", err)
	}
	if len(password) > bcryptMaxBytes {
		return errors.New("the password is longer than bcrypt's 72 bytes")
	}
	return nil
}

func askTwice(tty *os.File, prompt io.Writer) (string, error) {
	read := func(label string) (string, error) {
		fmt.Fprint(prompt, label)
		b, err := term.ReadPassword(int(tty.Fd()))
		fmt.Fprintln(prompt)
		return string(b), err
	}
	first, err := read("Room password: ")
	if err != nil {
		return "", err
	}
	again, err := read("Again: ")
	if err != nil {
		return "", err
	}
	if first != again {
		return "", errors.New("the two passwords differ")
	}
	return first, nil
}

func firstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
