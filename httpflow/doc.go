// Package httpflow parses HTTP/1.x messages from reassembled byte streams.
package httpflow
