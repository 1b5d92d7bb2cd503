package httpflow

import (
	"testing"
	"unsafe"
)

// TestTxnBoxSizeClass keeps a transaction's record in the allocator's
// 896-byte size class: a keep-alive capture allocates one per transaction,
// and the next class up is 1024 bytes.
func TestTxnBoxSizeClass(t *testing.T) {
	if n := unsafe.Sizeof(txnBox{}); n > 896 {
		t.Errorf("txnBox is %d bytes, over the 896-byte size class", n)
	}
}
