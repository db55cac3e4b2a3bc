// scan_writer.go - test/scan_writer.c in Go, for test/scan_programs.scan:
// a Go binary makes its system calls itself, without libc, so that no
// hook of the shim sees them (only the scanner, and the kernel).  The same
// operations, one per run, with the same system calls.
package main

import (
	"fmt"
	"os"
	"strconv"
)

func put(name string, flags int, text string) error {
	f, err := os.OpenFile(name, os.O_WRONLY|flags, 0644)
	if err != nil {
		return err
	}
	if _, err = f.WriteString(text); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func cut(name string, size string) error {
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if err = f.Truncate(n); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func run(op string, a string, b string, two bool) error {
	switch {
	case op == "write" && two:
		return put(a, os.O_CREATE|os.O_TRUNC, b)
	case op == "append" && two:
		return put(a, os.O_APPEND, b)
	case op == "truncate" && two:
		return cut(a, b)
	case op == "chmod" && two:
		m, err := strconv.ParseUint(b, 8, 32)
		if err != nil {
			return err
		}
		return os.Chmod(a, os.FileMode(m))
	case op == "mkdir":
		return os.Mkdir(a, 0755)
	case op == "rmdir", op == "unlink":
		return os.Remove(a)
	case op == "rename" && two:
		return os.Rename(a, b)
	case op == "link" && two:
		return os.Link(a, b)
	}
	fmt.Fprintln(os.Stderr, "usage: scan_writer OP NAME [ARG]")
	os.Exit(2)
	return nil
}

func main() {
	if len(os.Args) < 3 {
		run("", "", "", false)
	}
	b := ""
	if len(os.Args) > 3 {
		b = os.Args[3]
	}
	if err := run(os.Args[1], os.Args[2], b, len(os.Args) > 3); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
