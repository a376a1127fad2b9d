package evidence

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"golang.org/x/crypto/nacl/secretbox"
	"golang.org/x/crypto/scrypt"
)

// PEM block types of the key files releasegate reads and writes. Encrypted
// keys use the same envelope as `cosign generate-key-pair` (scrypt +
// nacl/secretbox over PKCS#8), so cosign key pairs can sign evidence and
// releasegate key pairs can be used with cosign.
const (
	pemPublicKey       = "PUBLIC KEY"
	pemPrivateKey      = "PRIVATE KEY"
	pemECPrivateKey    = "EC PRIVATE KEY"
	pemSigstoreEncKey  = "ENCRYPTED SIGSTORE PRIVATE KEY"
	pemCosignEncKey    = "ENCRYPTED COSIGN PRIVATE KEY"
	scryptN, scryptR   = 32768, 8
	scryptP, keyLength = 1, 32
)

// Algorithms accepted by GenerateKey.
const (
	AlgECDSAP256 = "ecdsa-p256"
	AlgEd25519   = "ed25519"
)

// GenerateKey makes a new signing key: AlgECDSAP256 (the cosign default) or
// AlgEd25519.
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case AlgECDSAP256, "":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgEd25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	return nil, fmt.Errorf("%w: algorithm %q; expected %s or %s", ErrKeyType, alg, AlgECDSAP256, AlgEd25519)
}

// MarshalPublicKey encodes pub as a PEM "PUBLIC KEY" (PKIX) block.
func MarshalPublicKey(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// MarshalPrivateKey encodes k as PKCS#8 PEM. With a non-empty password the
// key is encrypted in cosign's format ("ENCRYPTED SIGSTORE PRIVATE KEY");
// with an empty one it is written in the clear ("PRIVATE KEY").
func MarshalPrivateKey(k crypto.Signer, password []byte) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil, err
	}
	if len(password) == 0 {
		return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
	}
	var salt [32]byte
	var nonce [24]byte
	if _, err := rand.Read(salt[:]); err != nil {
		return nil, err
	}
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	sk, err := scrypt.Key(password, salt[:], scryptN, scryptR, scryptP, keyLength)
	if err != nil {
		return nil, err
	}
	var key [32]byte
	copy(key[:], sk)
	var e encryptedKey
	e.KDF.Name = "scrypt"
	e.KDF.Params.N, e.KDF.Params.R, e.KDF.Params.P = scryptN, scryptR, scryptP
	e.KDF.Salt = salt[:]
	e.Cipher.Name = "nacl/secretbox"
	e.Cipher.Nonce = nonce[:]
	e.Ciphertext = secretbox.Seal(nil, der, &nonce, &key)
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemSigstoreEncKey, Bytes: b}), nil
}

// encryptedKey is the JSON inside an encrypted cosign key.
type encryptedKey struct {
	KDF struct {
		Name   string `json:"name"`
		Params struct {
			N int `json:"N"`
			R int `json:"r"`
			P int `json:"p"`
		} `json:"params"`
		Salt []byte `json:"salt"`
	} `json:"kdf"`
	Cipher struct {
		Name  string `json:"name"`
		Nonce []byte `json:"nonce"`
	} `json:"cipher"`
	Ciphertext []byte `json:"ciphertext"`
}

// ErrPassword means an encrypted key could not be decrypted with the given
// password.
var ErrPassword = errors.New("wrong password for the encrypted key")

// ParsePrivateKey decodes a PEM private key: PKCS#8, SEC 1 EC, or an
// encrypted cosign key (decrypted with password).
func ParsePrivateKey(b []byte, password []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: no PEM block; expected a private key file such as cosign.key", ErrKeyType)
	}
	der := blk.Bytes
	switch blk.Type {
	case pemECPrivateKey:
		k, err := x509.ParseECPrivateKey(der)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeyType, err)
		}
		if _, err := NewSigner(k); err != nil {
			return nil, err
		}
		return k, nil
	case pemPrivateKey:
	case pemSigstoreEncKey, pemCosignEncKey:
		var e encryptedKey
		if err := json.Unmarshal(der, &e); err != nil {
			return nil, fmt.Errorf("%w: encrypted key: %v", ErrKeyType, err)
		}
		if e.KDF.Name != "scrypt" || e.Cipher.Name != "nacl/secretbox" || len(e.Cipher.Nonce) != 24 {
			return nil, fmt.Errorf("%w: encrypted key uses kdf %q and cipher %q; expected scrypt and nacl/secretbox", ErrKeyType, e.KDF.Name, e.Cipher.Name)
		}
		if e.KDF.Params.N > 1<<20 || e.KDF.Params.R > 32 || e.KDF.Params.P > 16 {
			return nil, fmt.Errorf("%w: encrypted key asks for scrypt N=%d r=%d p=%d, above the accepted bounds", ErrKeyType, e.KDF.Params.N, e.KDF.Params.R, e.KDF.Params.P)
		}
		sk, err := scrypt.Key(password, e.KDF.Salt, e.KDF.Params.N, e.KDF.Params.R, e.KDF.Params.P, keyLength)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKeyType, err)
		}
		var key [32]byte
		var nonce [24]byte
		copy(key[:], sk)
		copy(nonce[:], e.Cipher.Nonce)
		plain, ok := secretbox.Open(nil, e.Ciphertext, &nonce, &key)
		if !ok {
			return nil, fmt.Errorf("%w; set COSIGN_PASSWORD to the key's password", ErrPassword)
		}
		der = plain
	default:
		return nil, fmt.Errorf("%w: PEM block %q; expected %q or %q", ErrKeyType, blk.Type, pemPrivateKey, pemSigstoreEncKey)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyType, err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%w: %T", ErrKeyType, k)
	}
	if _, err := NewSigner(s); err != nil {
		return nil, err
	}
	return s, nil
}

// ParsePublicKey decodes a PEM "PUBLIC KEY" (PKIX) holding an ECDSA P-256
// or Ed25519 key, such as cosign.pub.
func ParsePublicKey(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != pemPublicKey {
		return nil, fmt.Errorf("%w: expected a PEM %q block such as cosign.pub", ErrKeyType, pemPublicKey)
	}
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKeyType, err)
	}
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ecdsa curve %s; expected P-256", ErrKeyType, p.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("%w: %T; expected ECDSA P-256 or Ed25519", ErrKeyType, pub)
	}
	return pub, nil
}

// MatchKeys returns ErrKeyMismatch unless signer is the private half of pub.
func MatchKeys(signer crypto.Signer, pub crypto.PublicKey) error {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	if e, ok := signer.Public().(equaler); ok && e.Equal(pub) {
		return nil
	}
	return fmt.Errorf("%w: signing key %s, verification key %s; use the key pair made by `releasegate evidence keygen` (or cosign)", ErrKeyMismatch, shortID(KeyID(signer.Public())), shortID(KeyID(pub)))
}
