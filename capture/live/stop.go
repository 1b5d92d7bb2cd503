package live

import "context"

// StopWhenDone stops s when ctx is done (a signal.NotifyContext for Ctrl-C
// and SIGTERM, a context.WithTimeout for --duration): a Next blocked
// waiting for packets then returns io.EOF, the caller prints its final
// report and closes s. The returned function detaches s from ctx; it
// reports whether it did so before ctx was done.
func (s *Source) StopWhenDone(ctx context.Context) (detach func() bool) {
	return context.AfterFunc(ctx, s.Stop)
}
