// relay_writer.go - test/relay_writer.c's changes made by a Go program
// (Go makes its system calls itself, past any preloaded library): the
// relay is how a watcher under the shim sees them.
package main

import (
	"os"
	"path/filepath"
)

func main() {
	dir := os.Args[1]
	f, g := filepath.Join(dir, "f"), filepath.Join(dir, "g")
	must(os.WriteFile(f, []byte("hello\n"), 0644))
	must(os.Chmod(f, 0600))
	must(os.Rename(f, g))
	must(os.Mkdir(filepath.Join(dir, "d"), 0755))
	must(os.Remove(filepath.Join(dir, "d")))
	must(os.Remove(g))
	e, err := os.OpenFile(filepath.Join(dir, "end"), os.O_WRONLY|os.O_CREATE, 0644)
	must(err)
	must(e.Close())
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}
