// Command connscope explains HTTP/1.x connection behaviour from packet captures.
package main

import (
	"fmt"
	"os"

	"github.com/fatih/color"
	"github.com/spf13/pflag"
)

func main() {
	fs := pflag.NewFlagSet("connscope", pflag.ContinueOnError)
	version := fs.Bool("version", false, "print the version")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if *version {
		fmt.Println("connscope", color.New().Sprint("dev"))
	}
}
