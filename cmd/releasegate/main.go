// Command releasegate evaluates a release policy's gates and blocks the
// release when one fails. See `releasegate --help`.
package main

import (
	"context"
	"os"

	"github.com/maestro-conductor/releasegate/internal/cli"
	_ "github.com/maestro-conductor/releasegate/internal/gates/all"
)

func main() {
	cli.TuneGC(os.LookupEnv)
	// SIGINT, SIGTERM and SIGHUP cancel the run; the results are still written.
	ctx, stop := cli.SignalContext(context.Background())
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
