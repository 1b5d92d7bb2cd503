package capturetest

import (
	"errors"
	"io"

	"github.com/connscope/connscope/capture"
)

// Source yields captured frames: a *capture.Reader, or a live source.
type Source interface {
	Next() (*capture.Packet, error)
}

// EachSegment decodes every frame src yields and calls fn with each TCP
// segment, which is valid only during the call (the decoder reuses it). It
// returns the number of frames read and the error that stopped reading:
// nil at the end of the input, otherwise the reader's error, so a test
// decides whether damage is fatal.
func EachSegment(src Source, fn func(*capture.Segment)) (frames int64, err error) {
	dec := capture.NewDecoder()
	var seg capture.Segment
	for {
		p, err := src.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return frames, err
		}
		frames++
		if dec.Decode(p, &seg) == capture.SkipNone {
			fn(&seg)
		}
	}
}
