package ledger

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

// copyStream encodes entries the way PostgreSQL's binary COPY does.
func copyStream(es []Entry) []byte {
	var b bytes.Buffer
	b.WriteString(copySignature)
	b.Write(make([]byte, 8)) // flags, extension length
	field := func(p []byte) {
		binary.Write(&b, binary.BigEndian, int32(len(p)))
		b.Write(p)
	}
	for _, e := range es {
		binary.Write(&b, binary.BigEndian, int16(6))
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(e.Seq))
		field(n[:])
		binary.BigEndian.PutUint64(n[:], uint64(e.Time.UnixMicro()-pgEpochMicros))
		field(n[:])
		field([]byte(e.Kind))
		field(e.Payload)
		field(e.PrevHash[:])
		field(e.Hash[:])
	}
	binary.Write(&b, binary.BigEndian, int16(-1))
	return b.Bytes()
}

func TestDecodeCopy(t *testing.T) {
	t.Parallel()
	e := Entry{Tenant: "acme", Seq: 1, Time: time.Date(2026, 11, 28, 1, 2, 3, 456789000, time.UTC), Kind: "entry", Payload: []byte(`{"a":1}`)}
	e.Hash = e.ComputeHash()
	var got []Entry
	err := DecodeCopy(bytes.NewReader(copyStream([]Entry{e})), "acme", func(x *Entry) error {
		c := *x
		c.Payload = append([]byte(nil), x.Payload...)
		got = append(got, c)
		return nil
	})
	if err != nil || len(got) != 1 || !got[0].Time.Equal(e.Time) || got[0].Hash != e.Hash || string(got[0].Payload) != `{"a":1}` {
		t.Fatalf("DecodeCopy = %+v, %v; want %+v", got, err, e)
	}
	good := copyStream([]Entry{e})
	for _, c := range []struct {
		name string
		in   []byte
	}{
		{"an empty stream", nil},
		{"a bad signature", append([]byte("PGCOPX"), good[6:]...)},
		{"a stream cut mid-row", good[:len(good)-10]},
		{"a stream without a trailer", good[:len(good)-2]},
	} {
		if err := DecodeCopy(bytes.NewReader(c.in), "acme", func(*Entry) error { return nil }); !errors.Is(err, ErrBadCopy) {
			t.Errorf("%s: DecodeCopy = %v, want ErrBadCopy", c.name, err)
		}
	}
}

// FuzzDecodeCopy feeds the record decoder arbitrary bytes: it must return
// rows or an error, never panic or loop.
func FuzzDecodeCopy(f *testing.F) {
	e := Entry{Tenant: "t", Seq: 1, Time: time.Unix(0, 0).UTC(), Kind: "entry", Payload: []byte(`{}`)}
	e.Hash = e.ComputeHash()
	f.Add(copyStream([]Entry{e, e}))
	f.Add(copyStream(nil))
	f.Add([]byte(copySignature))
	f.Fuzz(func(t *testing.T, in []byte) {
		n := 0
		_ = DecodeCopy(bytes.NewReader(in), "t", func(x *Entry) error {
			n++
			if len(x.Kind) > MaxKindLen {
				t.Fatalf("kind of %d bytes accepted", len(x.Kind))
			}
			return nil
		})
		if n > len(in) {
			t.Fatalf("%d rows from %d bytes", n, len(in))
		}
	})
}
