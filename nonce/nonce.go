package nonce

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/ltikit/ltikit/lti"
)

// Login is the server-side record of one login initiation. It is written
// once at login and taken once at launch.
type Login struct {
	// State is the OIDC state value, the record's key.
	State string
	// Nonce is the OIDC nonce sent to the platform in the same auth request.
	Nonce string
	// Issuer and ClientID identify the registration the login was for.
	Issuer string
	// ClientID is the tool's client_id at that registration.
	ClientID string
	// TargetLinkURI is the target_link_uri of the login initiation request;
	// the id_token's target_link_uri claim must equal it.
	TargetLinkURI string
	// DeploymentID is the lti_deployment_id hint of the login request; it
	// may be empty.
	DeploymentID string
	// Binding is the hex SHA-256 over the fields above (see [Bind]). The
	// launch pipeline recomputes it, so a store that returns a record other
	// than the one written at login (fields swapped, truncated or mixed up
	// between rows) is refused. It is an integrity check against adapter
	// faults, not a MAC: whoever can write the database can also write
	// registrations.
	Binding string
	// ExpiresAt is when the record stops being usable.
	ExpiresAt time.Time
}

// Bind computes the binding hash of the login record's fields, in this
// order: state, nonce, issuer, client_id, target_link_uri and deployment
// hint, each prefixed with its length as 8 little-endian bytes, so no two
// different records share a binding.
func (l Login) Bind() string {
	h := sha256.New()
	var n [8]byte
	for _, f := range [...]string{l.State, l.Nonce, l.Issuer, l.ClientID, l.TargetLinkURI, l.DeploymentID} {
		ln := uint64(len(f))
		for i := range n {
			n[i] = byte(ln >> (8 * i))
		}
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Nonce is a nonce stored on its own, for state stores that do not carry it.
type Nonce struct {
	// Value is the nonce string.
	Value string
	// Issuer and ClientID identify the registration the nonce was issued to;
	// a nonce is only consumed for the same registration.
	Issuer string
	// ClientID is the tool's client_id at that registration.
	ClientID string
	// ExpiresAt is when the nonce stops being usable. Stores keep a
	// consumed nonce at least until then, so a replay is refused as
	// already used (OIDC Core §3.1.3.7 step 11, §15.5.2).
	ExpiresAt time.Time
}

// StateStore keeps login records. Implementations must be safe for
// concurrent use, and across processes when they share a database.
//
// Contract shared by StateStore and Store (storage/storagetest checks it):
// a record without ExpiresAt is refused at Put; a refused Take returns the
// zero Login; a cancelled or expired ctx returns an error that is none of
// ErrNotFound, ErrExpired, ErrConsumed (it is a storage failure, not a
// verdict on the value) and changes nothing; expiry is judged at second
// precision or finer.
type StateStore interface {
	// PutState stores l under l.State until l.ExpiresAt. A State that is
	// already stored is an error (states are never overwritten).
	PutState(ctx context.Context, l Login) error
	// TakeState atomically takes the record for state: exactly one of any
	// number of concurrent callers gets it, and after that the record is
	// unusable. An unknown state is ErrNotFound, one past its ExpiresAt is
	// ErrExpired, one already taken is ErrConsumed (or ErrNotFound if the
	// store deletes taken records). Any other error means the store failed.
	TakeState(ctx context.Context, state string) (Login, error)
}

// Store keeps nonces that are not carried by a state record.
type Store interface {
	// PutNonce stores n until n.ExpiresAt. A value already stored (for any
	// registration) is an error.
	PutNonce(ctx context.Context, n Nonce) error
	// ConsumeNonce atomically consumes the nonce value issued to the
	// registration (issuer, clientID): exactly one of any number of
	// concurrent callers succeeds. Unknown (or issued to another
	// registration) is ErrNotFound, past its expiry ErrExpired, already
	// consumed ErrConsumed. Any other error means the store failed.
	ConsumeNonce(ctx context.Context, value, issuer, clientID string) error
}

// Carrier is an optional interface of a StateStore. A StateStore whose
// CarriesNonce reports true stores the Login's nonce only inside the state
// record, and its TakeState consumes that nonce in the same atomic
// operation; the launch pipeline then uses no separate [Store], and a launch
// costs two writes. (The nonce can only ever be presented together with the
// one state that carries it, and that state is single-use.)
type Carrier interface {
	// CarriesNonce reports whether the store keeps the nonce in the state
	// record and consumes it with the state.
	CarriesNonce() bool
}

// Errors a StateStore or Store returns for a refused value, matched by
// identity with errors.Is. Their code is invalid_state (see lti.Classify);
// the launch pipeline answers invalid_state for a state and invalid_nonce
// for a nonce.
var (
	ErrNotFound = lti.NewSentinel(lti.CodeInvalidState, "nonce: not found")
	ErrExpired  = lti.NewSentinel(lti.CodeInvalidState, "nonce: expired")
	ErrConsumed = lti.NewSentinel(lti.CodeInvalidState, "nonce: already used")
)

// ValueBytes is the entropy of a minted state or nonce: 256 bits, above the
// 128 bits 1EdTech Security Framework §5.1.1.2 and OIDC Core §15.5.2 ask for.
const ValueBytes = 32

// NewValue returns a fresh random value: [ValueBytes] bytes from
// crypto/rand, base64url encoded without padding (43 characters of
// A-Z a-z 0-9 - _). crypto/rand.Read never fails (since Go 1.24 it crashes
// the program rather than return short or weak randomness), so neither does
// NewValue.
func NewValue() string {
	var b [ValueBytes]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
