package session

import (
	"errors"
	"fmt"

	"github.com/ltikit/ltikit/lti"
)

// ErrNoSession is the refusal of a request that presents no usable launch
// session: no token at all, a token that is not well formed, or one whose
// session is unknown, expired or ended. Its code is no_session (401,
// security); errors.Is(err, ErrNoSession) matches every no_session error.
var ErrNoSession = lti.NewError(lti.CodeNoSession,
	"no launch session: it is missing, expired or was ended; open the tool again from the platform")

// errNoLaunch is the cause of Start's refusal when it runs without a
// launch in the request context: the host wired it outside
// launch.Tool.LaunchHandler.
var errNoLaunch = errors.New("session: Start ran without a launch in the request context; use it as the next handler of launch.Tool.LaunchHandler")

// errStart is Start's refusal without a launch. It is a fault of the host,
// not of the request, so it is a 5xx: storage_unavailable (the code lti
// gives every unexpected failure, see lti.AsError) with a description of
// its own.
var errStart = lti.ErrStorageUnavailable.WithDescription("the tool could not start a launch session")

// storageErr wraps a store failure as storage_unavailable.
func storageErr(op string, err error) *lti.Error {
	return lti.ErrStorageUnavailable.WithCause(fmt.Errorf("session: %s: %w", op, err))
}
