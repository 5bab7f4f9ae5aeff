package storage

import (
	"context"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
)

// Registrar writes registrations and deployments. The launch pipeline only
// reads them ([Adapter]); what adds, lists and removes them — LTI Dynamic
// Registration (package dynreg), the policy that records a new deployment of
// a known platform (launch.RecordDeployments), and administrative tools —
// goes through a Registrar. The memory and GORM adapters implement it.
//
// Implementations must be safe for concurrent use, also by several
// processes sharing one database: two callers creating the same
// registration or deployment at once get one success and one [ErrExists],
// never two rows.
//
// Errors: a refusal is an error matching [ErrExists],
// registration.ErrNotFound or deployment.ErrNotFound as each method says;
// invalid input is an error matching none of them, and nothing is written;
// a failure of the store (a cancelled context, a lost connection) matches
// none of them either (the database adapters wrap it as
// lti.ErrStorageUnavailable). Compare with errors.Is. The registration and
// deployment written are then what the [Adapter] of the same store finds:
// keys compare byte for byte, so deployment ids "A" and "a" are two.
//
// A [LookupCache] in front of the same store serves a deleted registration
// or deployment until its entry expires: call [LookupCache.Forget] after a
// delete.
type Registrar interface {
	// CreateRegistration stores reg and the given deployments, all or none.
	// reg must pass [registration.Registration.Validate] and each
	// deployment id must be a valid one (non-empty, at most
	// deployment.MaxIDLength bytes, none given twice). A registration with
	// the same issuer and client_id already stored is an error matching
	// [ErrExists]; nothing is written then.
	CreateRegistration(ctx context.Context, reg registration.Registration, deploymentIDs ...string) error
	// CreateDeployment stores deploymentID (non-empty, at most
	// deployment.MaxIDLength bytes) under the registration key identifies.
	// No such registration is registration.ErrNotFound; the deployment
	// already stored is [ErrExists].
	CreateDeployment(ctx context.Context, key registration.Key, deploymentID string) error
	// DeleteRegistration removes the registration key identifies and every
	// deployment under it, at once. None is registration.ErrNotFound.
	DeleteRegistration(ctx context.Context, key registration.Key) error
	// DeleteDeployment removes one deployment. No such registration is
	// registration.ErrNotFound, no such deployment deployment.ErrNotFound.
	DeleteDeployment(ctx context.Context, key registration.Key, deploymentID string) error
	// Registrations lists every registration with the ids of its
	// deployments, ordered by issuer then client_id, the ids in byte order
	// (Go's string order, whatever the database's collation).
	Registrations(ctx context.Context) ([]Entry, error)
}

// Entry is one registration and the ids of its deployments, as
// [Registrar.Registrations] lists them.
type Entry struct {
	// Registration is what the library knows of the registration.
	Registration registration.Registration
	// Deployments are its deployment ids, in byte order; empty when it has
	// none.
	Deployments []string
}

// ErrExists is returned (wrapped) by a [Registrar] asked to create a
// registration or deployment that is already stored. Nothing is changed
// then. Its code is already_exists (409, see lti.Classify).
var ErrExists = lti.NewSentinel(lti.CodeAlreadyExists, "storage: already exists")
