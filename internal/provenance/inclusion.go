package provenance

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
)

// checkInclusion recomputes the RFC 6962 root from an entry's logged body
// and inclusion proof and compares it with the proof's root hash and with
// the root of the checkpoint the proof carries. sigstore-go does the same
// (and checks the checkpoint's signature); doing it first names what did
// not match. Entries without a proof (a Rekor v1 promise only) pass here.
func checkInclusion(i int, e *protorekor.TransparencyLogEntry) error {
	p := e.GetInclusionProof()
	if p == nil {
		return nil
	}
	ie := &InclusionError{Entry: i, Index: p.GetLogIndex(), TreeSize: p.GetTreeSize()}
	if p.GetLogIndex() < 0 || p.GetTreeSize() <= 0 || p.GetLogIndex() >= p.GetTreeSize() {
		ie.Reason = "the index is outside the tree"
		return ie
	}
	leaf := rfc6962.DefaultHasher.HashLeaf(e.GetCanonicalizedBody())
	root, err := proof.RootFromInclusionProof(rfc6962.DefaultHasher, uint64(p.GetLogIndex()), uint64(p.GetTreeSize()), leaf, p.GetHashes())
	if err != nil {
		ie.Reason = err.Error()
		return ie
	}
	ie.Computed = hex.EncodeToString(root)
	if !bytes.Equal(root, p.GetRootHash()) {
		ie.What, ie.Stated = "the proof's root hash", hex.EncodeToString(p.GetRootHash())
		return ie
	}
	size, cpRoot, ok := checkpointRoot(p.GetCheckpoint().GetEnvelope())
	if ok && size == uint64(p.GetTreeSize()) && !bytes.Equal(root, cpRoot) {
		ie.What, ie.Stated = "the signed checkpoint's root hash", hex.EncodeToString(cpRoot)
		return ie
	}
	return nil
}

// checkpointRoot reads the tree size and root hash of a signed checkpoint
// (a note: origin, size, base64 root, then optional lines, a blank line
// and signatures). The signature is sigstore-go's to check.
func checkpointRoot(envelope string) (uint64, []byte, bool) {
	lines := strings.SplitN(envelope, "\n", 4)
	if len(lines) < 3 {
		return 0, nil, false
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil {
		return 0, nil, false
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil {
		return 0, nil, false
	}
	return size, root, true
}
