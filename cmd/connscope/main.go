// Command connscope explains HTTP/1.x connection behaviour from packet
// captures: which connections were opened, which transactions they carried,
// and what connection management cost the user. See README.md.
package main

import (
	"os"

	"github.com/connscope/connscope/cmd/connscope/cli"
)

func main() {
	os.Exit(cli.Run(os.Args[1:], cli.Stdio()))
}
